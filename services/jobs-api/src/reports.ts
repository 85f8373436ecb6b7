import { z } from 'zod';
import { dayReport, liveLedgerFile, readLedgerDay, type DayReport } from '@dolphin/ledger';
import { dateSchema } from './dates.ts';

// The day report of the daily batch (`dolphin daily`), as the API takes and gives it back. The
// report itself is computed by packages/ledger (dayReport); this is its shape on the wire.

const finite = z.number().finite();
const postureSchema = z.enum(['APEX', 'STALKER', 'TURTLE', 'HIBERNATE']);

export const dayReportSchema = z.strictObject({
  date: dateSchema,
  trades: z.number().int().min(0),
  entries: z.number().int().min(0),
  fills: z.array(z.strictObject({
    at: z.iso.datetime(),
    scan_number: z.number().int(),
    symbol: z.string().min(1).max(32),
    side: z.enum(['SELL', 'BUY']),
    reason: z.string().max(64),
    quantity: finite,
    price: finite,
    fee: finite,
    realized: finite,
    capital_after: finite,
  })).max(100_000),
  realized_pnl: finite,
  fees: finite,
  capital_start: finite.nullable(),
  capital_end: finite.nullable(),
  max_drawdown: finite.min(0),
  max_drawdown_pct: finite.min(0),
  posture_at_start: z.strictObject({ posture: postureSchema, size_scale: finite }).nullable(),
  posture_changes: z.array(z.strictObject({ at: z.iso.datetime(), from: postureSchema.nullable(), to: postureSchema, size_scale: finite })).max(100_000),
});

// The wire shape and packages/ledger's DayReport are one thing: this fails to typecheck if they part.
const sameShape = (r: DayReport): z.input<typeof dayReportSchema> => r;
void sameShape;

/** POST /reports/daily: a day's paper-trading report and the backtest job run for it (if any). */
export const dailyReportBodySchema = z.strictObject({
  job_id: z.string().min(1).max(64).nullable(),
  report: dayReportSchema,
});
export type DailyReportBody = z.infer<typeof dailyReportBodySchema>;

/**
 * The paper-trading report of `date` from this install's live ledger (<stateDir>/event-trader.db,
 * read-only): what `dolphin daily` stores. Throws DOLPHIN_TRADER_LEDGER_MISSING without one.
 */
export function liveDayReport(stateDir: string, date: string): { ledger: string; report: DayReport } {
  const ledger = liveLedgerFile(stateDir);
  return { ledger, report: dayReport(date, readLedgerDay(ledger, date)) };
}
