import { z } from 'zod';
import type { Order, StrategyState } from '@dolphin/strategy';
import type { GapRow, SafetyInput } from './ledger.ts';

/**
 * The ledger's copy in the cluster (DOLPHIN_LEDGER_<colour>), so that it outlives its host: one
 * entry per fill, per recorded posture and per gap, written before the trader's latest state
 * entry, which is the commit point (a state entry names the last scan whose fills are all in).
 * A trader on another host rebuilds its SQLite from these entries (Ledger.adopt) and goes on
 * from the state's scan. `epoch` is the writer's leadership epoch (0 before leadership).
 */
const common = { epoch: z.number().int().min(0) };

export const clusterStateEntrySchema = z.strictObject({
  kind: z.literal('state'), ...common,
  scan_number: z.number().int(),
  scan_ts_ns: z.number(),
  state: z.record(z.string(), z.unknown()),
  algo_version: z.string(),
  updated_at: z.string(),
});

export const clusterFillEntrySchema = z.strictObject({
  kind: z.literal('fill'), ...common,
  scan_ts_ns: z.number(),
  scan_number: z.number().int(),
  day: z.string(),
  symbol: z.string(),
  side: z.enum(['SELL', 'BUY']),
  reason: z.string(),
  quantity: z.number(),
  price: z.number(),
  notional: z.number(),
  fee: z.number(),
  realized: z.number(),
  capital_after: z.number(),
});

export const clusterInputEntrySchema = z.strictObject({
  kind: z.literal('input'), ...common,
  scan_number: z.number().int(),
  scan_ts_ns: z.number(),
  safety: z.strictObject({ posture: z.string(), size_scale: z.number(), ts: z.string() }),
});

export const clusterGapEntrySchema = z.strictObject({
  kind: z.literal('gap'), ...common,
  after_scan_number: z.number().int(),
  after_ts_ns: z.number(),
  before_scan_number: z.number().int(),
  before_ts_ns: z.number(),
  missing: z.number().int(),
  reason: z.string(),
  recorded_at: z.string(),
});

export const clusterLedgerEntrySchema = z.discriminatedUnion('kind', [clusterStateEntrySchema, clusterFillEntrySchema, clusterInputEntrySchema, clusterGapEntrySchema]);
export type ClusterLedgerEntry = z.infer<typeof clusterLedgerEntrySchema>;
export type ClusterStateEntry = z.infer<typeof clusterStateEntrySchema>;

/** The key of the latest state: the commit point. */
export const CLUSTER_STATE_KEY = 'state';
const pad = (n: number) => String(n).padStart(12, '0');

/** One committed decision, as Ledger.commit took it. */
export interface CommitRecord {
  state: StrategyState;
  orders: readonly Order[];
  algoVersion: string;
  updatedAt: string;
  safety?: SafetyInput;
  gap?: Omit<GapRow, 'id'>;
}

/**
 * The entries of one decision: its fills, posture and gap (keyed so that they never collide),
 * then the state entry, which the caller writes last.
 */
export function clusterEntries(c: CommitRecord, epoch: number): { rows: Array<[string, ClusterLedgerEntry]>; state: ClusterStateEntry } {
  const s = c.state;
  const rows: Array<[string, ClusterLedgerEntry]> = c.orders.map((o, i) => [`fill:${pad(o.scanNumber)}:${i}`, {
    kind: 'fill', epoch, scan_ts_ns: o.tsNs, scan_number: o.scanNumber, day: s.day, symbol: o.symbol, side: o.side, reason: o.reason,
    quantity: o.quantity, price: o.price, notional: o.notional, fee: o.fee, realized: o.realized, capital_after: s.capital,
  }]);
  if (c.safety) rows.push([`input:${pad(s.lastScanNumber)}`, { kind: 'input', epoch, scan_number: s.lastScanNumber, scan_ts_ns: s.lastScanTsNs, safety: { posture: c.safety.posture, size_scale: c.safety.size_scale, ts: c.safety.ts } }]);
  if (c.gap) rows.push([`gap:${pad(c.gap.before_scan_number)}`, { kind: 'gap', epoch, ...c.gap }]);
  return {
    rows,
    state: { kind: 'state', epoch, scan_number: s.lastScanNumber, scan_ts_ns: s.lastScanTsNs, state: s as unknown as Record<string, unknown>, algo_version: c.algoVersion, updated_at: c.updatedAt },
  };
}

/** The scan number an entry key belongs to (fill, input, gap), for fetching only what is newer than a ledger. */
export function scanOfKey(key: string): number | undefined {
  const m = /^(?:fill|input|gap):(\d{12})/.exec(key);
  return m ? Number(m[1]) : undefined;
}
