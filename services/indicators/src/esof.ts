// Calendar and session factors (esof_latest): computed from the clock, so they never go stale
// and need no provider.

/** Trading sessions by UTC hour: where most of the volume is at that hour. */
export const SESSIONS = [
  { name: 'asia', fromHour: 0, toHour: 7 },
  { name: 'london', fromHour: 7, toHour: 13 },
  { name: 'new_york', fromHour: 13, toHour: 21 },
  { name: 'after_hours', fromHour: 21, toHour: 24 },
] as const;
export type Session = (typeof SESSIONS)[number]['name'];

/** Deribit's monthly BTC options expire on the last Friday of the month at 08:00 UTC. */
export function monthlyExpiryMs(year: number, month: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  const back = (lastDay.getUTCDay() - 5 + 7) % 7; // days back to Friday
  return Date.UTC(year, month, lastDay.getUTCDate() - back, 8);
}

/** The next monthly expiry at or after `nowMs`. */
export function nextMonthlyExpiryMs(nowMs: number): number {
  const d = new Date(nowMs);
  const thisMonth = monthlyExpiryMs(d.getUTCFullYear(), d.getUTCMonth());
  return thisMonth >= nowMs ? thisMonth : monthlyExpiryMs(d.getUTCFullYear(), d.getUTCMonth() + 1);
}

export interface CalendarFactors {
  weekday: number;
  hour_utc: number;
  session: Session;
  days_to_expiry: number;
  is_weekend: boolean;
  next_expiry: string;
}

/** The factors at `nowMs` (weekday 0 = Sunday, as JavaScript and cron count). */
export function calendarFactors(nowMs: number): CalendarFactors {
  const d = new Date(nowMs);
  const hour = d.getUTCHours();
  const session = SESSIONS.find((s) => hour >= s.fromHour && hour < s.toHour)?.name ?? 'after_hours';
  const expiry = nextMonthlyExpiryMs(nowMs);
  return {
    weekday: d.getUTCDay(),
    hour_utc: hour,
    session,
    days_to_expiry: Math.round(((expiry - nowMs) / 86_400_000) * 1000) / 1000,
    is_weekend: d.getUTCDay() === 0 || d.getUTCDay() === 6,
    next_expiry: new Date(expiry).toISOString(),
  };
}
