import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { makeError } from '@dolphin/core';
import { LedgerErrors } from './errors.ts';
import type { FillRow, InputRow, SafetyInput } from './ledger.ts';

type Posture = SafetyInput['posture'];

/** The live trader's ledger in a state folder (services/event-trader writes it). */
export const LIVE_LEDGER_FILE = 'event-trader.db';
/** The live trader's ledger: event-trader.db for BLUE (as before colours), event-trader-<colour>.db for the others. */
export const liveLedgerFile = (stateDir: string, colour = 'BLUE'): string =>
  path.join(stateDir, colour === 'BLUE' ? LIVE_LEDGER_FILE : `event-trader-${colour.toLowerCase()}.db`);

/** One fill of the day, as the report lists it. */
export interface DayFill {
  /** The scan's time (ISO UTC). */
  at: string;
  scan_number: number;
  symbol: string;
  /** SELL opens a SHORT, BUY closes it. */
  side: 'SELL' | 'BUY';
  reason: string;
  quantity: number;
  price: number;
  fee: number;
  /** An exit's PnL after both legs' fees; 0 for an entry. */
  realized: number;
  /** Cash equity after the fill's scan. */
  capital_after: number;
}

export interface PostureChange {
  at: string;
  /** null: the first posture the ledger recorded. */
  from: Posture | null;
  to: Posture;
  size_scale: number;
}

/** What the paper trader did on one UTC day, from its ledger. */
export interface DayReport {
  date: string;
  /** Closed trades (exits). */
  trades: number;
  /** Positions opened. */
  entries: number;
  fills: DayFill[];
  /** Sum of the exits' realized PnL, each after both of its fees. */
  realized_pnl: number;
  /** Fees paid on the day's fills. */
  fees: number;
  /** Cash equity before the day's first fill (null: nothing on record yet). */
  capital_start: number | null;
  /** Cash equity after the day's last fill, or at its start when it had none. */
  capital_end: number | null;
  /** The largest fall of cash equity from its running peak during the day (≥ 0). */
  max_drawdown: number;
  /** The largest such fall as a percentage of its peak. */
  max_drawdown_pct: number;
  /** The posture in force when the day began (null: none recorded yet). */
  posture_at_start: { posture: Posture; size_scale: number } | null;
  /** Each time the posture's name changed during the day. */
  posture_changes: PostureChange[];
}

/** The ledger rows a day's report reads: its fills and inputs, and the last of each before it. */
export interface LedgerDay {
  fills: FillRow[];
  inputs: InputRow[];
}

const DAY_NS = 86_400e9;
const isoOfNs = (ns: number) => new Date(ns / 1e6).toISOString();

/**
 * The paper-trading report of `date` (UTC): pure, over the ledger's rows (rows of other days are
 * ignored, except the last fill and the last input before the day, which say where it started).
 * Drawdown is of cash equity (`capital_after`: realized PnL and fees, not open positions), as the
 * ledger records it after each scan that filled.
 */
export function dayReport(date: string, rows: LedgerDay): DayReport {
  const startNs = Date.parse(`${date}T00:00:00Z`) * 1e6;
  const before = rows.fills.filter((f) => f.day < date).at(-1);
  const today = rows.fills.filter((f) => f.day === date);
  const first = today[0];
  // Before the first fill ever: an entry took only its fee from the cash.
  const capitalStart = before ? before.capital_after : first?.side === 'SELL' ? first.capital_after + first.fee : null;
  const series = [...(capitalStart !== null ? [capitalStart] : []), ...today.map((f) => f.capital_after)];
  let peak = series[0] ?? 0;
  let maxDrawdown = 0;
  let maxDrawdownPct = 0;
  for (const v of series) {
    peak = Math.max(peak, v);
    maxDrawdown = Math.max(maxDrawdown, peak - v);
    if (peak > 0) maxDrawdownPct = Math.max(maxDrawdownPct, ((peak - v) / peak) * 100);
  }

  const inputs = [...rows.inputs].sort((a, b) => a.fromScanTsNs - b.fromScanTsNs);
  const atStart = inputs.filter((i) => i.fromScanTsNs < startNs).at(-1);
  const changes: PostureChange[] = [];
  let current: Posture | null = atStart?.safety.posture ?? null;
  for (const i of inputs.filter((x) => x.fromScanTsNs >= startNs && x.fromScanTsNs < startNs + DAY_NS)) {
    // The trader records every new safety value it decides with; a change is a new posture.
    if (i.safety.posture === current) continue;
    changes.push({ at: isoOfNs(i.fromScanTsNs), from: current, to: i.safety.posture, size_scale: i.safety.size_scale });
    current = i.safety.posture;
  }

  return {
    date,
    trades: today.filter((f) => f.side === 'BUY').length,
    entries: today.filter((f) => f.side === 'SELL').length,
    fills: today.map((f) => ({
      at: isoOfNs(f.scan_ts_ns), scan_number: f.scan_number, symbol: f.symbol, side: f.side, reason: f.reason,
      quantity: f.quantity, price: f.price, fee: f.fee, realized: f.realized, capital_after: f.capital_after,
    })),
    realized_pnl: today.reduce((sum, f) => sum + f.realized, 0),
    fees: today.reduce((sum, f) => sum + f.fee, 0),
    capital_start: capitalStart,
    capital_end: today.at(-1)?.capital_after ?? capitalStart,
    max_drawdown: maxDrawdown,
    max_drawdown_pct: maxDrawdownPct,
    posture_at_start: atStart ? { posture: atStart.safety.posture, size_scale: atStart.safety.size_scale } : null,
    posture_changes: changes,
  };
}

/**
 * The rows of `date` (and the last fill and input before it) from the ledger file, opened
 * read-only: the trader may be writing it. A missing file is DOLPHIN_TRADER_LEDGER_MISSING.
 */
export function readLedgerDay(file: string, date: string): LedgerDay {
  if (!existsSync(file)) {
    throw makeError(LedgerErrors.DOLPHIN_TRADER_LEDGER_MISSING, `ledger ${file} does not exist: no trader has run with this state folder (stateDir), so there is no day to report`);
  }
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const startNs = Date.parse(`${date}T00:00:00Z`) * 1e6;
    const fills = [
      ...(db.prepare('select * from fills where day < ? order by id desc limit 1').all(date) as unknown as FillRow[]),
      ...(db.prepare('select * from fills where day = ? order by id').all(date) as unknown as FillRow[]),
    ];
    // A ledger from before the inputs were recorded has none: the report then has no postures.
    const hasInputs = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'inputs'").get() !== undefined;
    const raw = hasInputs ? [
      ...(db.prepare('select from_scan_ts_ns, safety from inputs where from_scan_ts_ns < ? order by from_scan_ts_ns desc limit 1').all(startNs) as Array<{ from_scan_ts_ns: number; safety: string }>),
      ...(db.prepare('select from_scan_ts_ns, safety from inputs where from_scan_ts_ns >= ? and from_scan_ts_ns < ? order by from_scan_ts_ns').all(startNs, startNs + DAY_NS) as Array<{ from_scan_ts_ns: number; safety: string }>),
    ] : [];
    return { fills, inputs: raw.map((r) => ({ fromScanTsNs: r.from_scan_ts_ns, safety: JSON.parse(r.safety) as InputRow['safety'] })) };
  } finally {
    db.close();
  }
}
