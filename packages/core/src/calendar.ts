import { CoreErrors, makeError } from './errors.ts';

const DAY_MS = 86_400_000;

/** A calendar that elapses once a day at a time of day in UTC. */
export interface DailyCalendar {
  /** As written in the registry. */
  readonly text: string;
  /** Seconds after 00:00 UTC. */
  readonly secondOfDay: number;
}

/**
 * The subset of systemd calendars (systemd.time(7)) that `dolphin up` runs itself:
 * `*-*-* HH:MM[:SS] UTC` (one- or two-digit fields) and `daily UTC`. Anything else is refused
 * rather than guessed at, so the supervisor never runs a schedule at other times than the timer
 * unit does. A zone is required: without one systemd reads the host's local time.
 */
export function parseCalendar(text: string): DailyCalendar {
  const refuse = (why: string) => makeError(CoreErrors.DOLPHIN_CONFIG_CALENDAR, `schedule calendar "${text}": ${why}`);
  const t = text.trim().replace(/\s+/g, ' ');
  if (t === 'daily UTC') return { text, secondOfDay: 0 };
  if (t === 'daily' || /^\*-\*-\* \d{1,2}:\d{1,2}(:\d{1,2})?$/.test(t)) {
    throw refuse('add " UTC": without a zone systemd reads it in the host\'s local time, and schedules are in UTC');
  }
  const m = /^\*-\*-\* (\d{1,2}):(\d{1,2})(?::(\d{1,2}))? UTC$/.exec(t);
  if (!m) throw refuse('dolphin up runs only a time of day in UTC: "*-*-* HH:MM[:SS] UTC" or "daily UTC"');
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || min > 59 || s > 59) throw refuse('hours are 0–23, minutes and seconds 0–59');
  return { text, secondOfDay: h * 3_600 + min * 60 + s };
}

/** The first elapse strictly after `afterMs` (epoch ms), as systemd computes the next one. */
export function nextElapse(cal: DailyCalendar, afterMs: number): number {
  const today = Math.floor(afterMs / DAY_MS) * DAY_MS + cal.secondOfDay * 1_000;
  return today > afterMs ? today : today + DAY_MS;
}

/** The last elapse at or before `atMs`: the one a persistent timer catches up on if it was missed. */
export function previousElapse(cal: DailyCalendar, atMs: number): number {
  const today = Math.floor(atMs / DAY_MS) * DAY_MS + cal.secondOfDay * 1_000;
  return today <= atMs ? today : today - DAY_MS;
}
