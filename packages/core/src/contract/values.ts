import { z } from 'zod';
import {
  isoTimestamp,
  unitInterval,
  postureSchema,
  lifecycleStateSchema,
  healthStatusSchema,
} from './common.ts';

// Indicator values are null until their first successful fetch; a value that could not be
// refreshed keeps its old `_pushed_at` so health sees the staleness (DESIGN.md §3, §6).

/** DOLPHIN_FEATURES["exf_latest"]: external factors. */
export const exfSchema = z.compile(z.looseObject({
  funding_btc: z.number().nullable(),
  dvol_btc: z.number().nonnegative().nullable(),
  fear_greed: z.number().min(0).max(100).nullable(),
  taker_ratio: z.number().nonnegative().nullable(),
  _pushed_at: isoTimestamp,
}));
export type Exf = z.infer<typeof exfSchema>;

const fiveLevels = z.array(z.number().nonnegative()).length(5);

/** Order-book features of one asset: 5 levels each side and the imbalance in [-1, 1]. */
export const assetObSchema = z.looseObject({
  bid_notional: fiveLevels,
  ask_notional: fiveLevels,
  bid_depth: fiveLevels,
  ask_depth: fiveLevels,
  imbalance: z.number().min(-1).max(1),
});
export type AssetOb = z.infer<typeof assetObSchema>;

/** DOLPHIN_FEATURES["ob_features_latest"]: `{ <ASSET>: AssetOb, ..., _pushed_at }`. */
export const obFeaturesSchema = z.compile(z.object({ _pushed_at: isoTimestamp }).catchall(assetObSchema));
export type ObFeatures = z.infer<typeof obFeaturesSchema>;

/** DOLPHIN_FEATURES["asset_<SYMBOL>_ob"]: one asset's order-book features. */
export const assetObEntrySchema = z.compile(assetObSchema.extend({ _pushed_at: isoTimestamp }));
export type AssetObEntry = z.infer<typeof assetObEntrySchema>;

/** DOLPHIN_FEATURES["esof_latest"]: calendar and session factors. */
export const esofSchema = z.compile(z.looseObject({
  weekday: z.number().int().min(0).max(6).optional(),
  hour_utc: z.number().int().min(0).max(23).optional(),
  session: z.string().min(1).optional(),
  days_to_expiry: z.number().nonnegative().optional(),
  _pushed_at: isoTimestamp,
}));
export type Esof = z.infer<typeof esofSchema>;

/** DOLPHIN_SAFETY["latest"]: the posture and the size scale of the adaptive circuit breaker. */
export const safetySchema = z.compile(z.looseObject({
  posture: postureSchema,
  size_scale: unitInterval,
  reasons: z.array(z.string()),
  ts: isoTimestamp,
}));
export type Safety = z.infer<typeof safetySchema>;

export const positionSchema = z.looseObject({
  symbol: z.string().min(1),
  side: z.enum(['SHORT', 'LONG']),
  quantity: z.number().positive(),
  entry_price: z.number().positive(),
  opened_at: isoTimestamp,
});
export type Position = z.infer<typeof positionSchema>;

/** DOLPHIN_STATE_BLUE["latest_nautilus"]: the trader's state. */
export const traderStateSchema = z.compile(z.looseObject({
  capital: z.number(),
  open_positions: z.array(positionSchema),
  posture: postureSchema,
  last_scan_number: z.number().int().nonnegative(),
  algo_version: z.string().min(1),
  updated_at: isoTimestamp,
  /** Scans this trader's ledger has decided, and scans it could not (found nowhere; each gap is in the ledger with its reason). */
  scans_decided: z.number().int().nonnegative().optional(),
  scans_missed: z.number().int().nonnegative().optional(),
  last_gap_at: isoTimestamp.optional(),
  /** Present while the ledger cannot be written: nothing is decided until it can (then every scan since is). */
  halted: z.looseObject({ code: z.string().min(1), reason: z.string().min(1), since: isoTimestamp }).optional(),
}));
export type TraderState = z.infer<typeof traderStateSchema>;

/** DOLPHIN_PNL_BLUE["YYYY-MM-DD"]: that day's PnL. */
export const dailyPnlSchema = z.compile(z.looseObject({
  date: z.iso.date(),
  realized_pnl: z.number(),
  unrealized_pnl: z.number(),
  trades: z.number().int().nonnegative(),
  capital: z.number(),
  updated_at: isoTimestamp,
}));
export type DailyPnl = z.infer<typeof dailyPnlSchema>;

/** DOLPHIN_HEARTBEAT[service]. */
export const heartbeatSchema = z.compile(z.looseObject({
  service: z.string().min(1),
  pid: z.number().int().positive(),
  host: z.string().min(1),
  version: z.string().min(1),
  ts: isoTimestamp,
  state: lifecycleStateSchema,
  started_at: isoTimestamp.optional(),
}));
export type Heartbeat = z.infer<typeof heartbeatSchema>;

const subsystemEntry = z.looseObject({ score: unitInterval, status: z.string().min(1) });

/** DOLPHIN_META_HEALTH["latest"] (DESIGN.md §6). */
export const metaHealthSchema = z.compile(z.looseObject({
  rm_meta: unitInterval,
  status: healthStatusSchema,
  m1_proc: unitInterval,
  m2_heartbeat: unitInterval,
  m3_data_freshness: unitInterval,
  m4_control_plane: unitInterval,
  m5_coherence: unitInterval,
  subsystem_health: z.looseObject({
    processes: z.record(z.string(), subsystemEntry),
    data_sources: z.record(z.string(), subsystemEntry),
  }),
  timestamp: isoTimestamp,
}));
export type MetaHealth = z.infer<typeof metaHealthSchema>;
