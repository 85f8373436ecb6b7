// Valid example values for every key of the data contract: the contract tests' fixtures and
// the documentation's examples. Timestamps are fixed so the examples are reproducible.
import { SCAN_WINDOW_FIELDS, type FeatureScan, type ScanRecord } from './scan.ts';
import type { Exf, ObFeatures, AssetObEntry, Esof, Safety, TraderState, DailyPnl, Heartbeat, MetaHealth } from './values.ts';

const now = '2026-11-24T10:00:00.123456Z';
const windows = Object.fromEntries(SCAN_WINDOW_FIELDS.map((f, i) => [f, 0.01 * (i + 1) - 0.05]));

export const sampleScan: ScanRecord = {
  scan_number: 4242,
  timestamp_ns: 1_795_000_000_123_456_789,
  timestamp_iso: '2026-11-18T10:40:00.123456Z',
  schema_version: '5.0.0',
  ...windows,
  assets: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
  asset_prices: [97_000.5, 3_400.25, 210.125],
  eigenvalues: [2.5, 0.4, 0.1],
} as ScanRecord;

export const sampleFeatureScan: FeatureScan = {
  ...sampleScan,
  timestamp: sampleScan.timestamp_iso,
  bridge_ts: now,
  bridge_source: 'scan-bridge',
  file: '2026-11-18/scan_4242_104000.arrow',
  stamps: { file_ns: 1_795_000_000_200_000_000, seen_ns: 1_795_000_000_200_300_000, put_ns: 1_795_000_000_200_700_000 },
  extra_column: 'carried through',
} as FeatureScan;

const ob = { bid_notional: [5, 4, 3, 2, 1], ask_notional: [1, 2, 3, 4, 5], bid_depth: [1, 1, 1, 1, 1], ask_depth: [2, 2, 2, 2, 2], imbalance: -0.2 };

export const sampleExf: Exf = { funding_btc: -0.00012, dvol_btc: 61.5, fear_greed: 22, taker_ratio: 0.93, _pushed_at: now };
export const sampleObFeatures: ObFeatures = { BTCUSDT: ob, ETHUSDT: { ...ob, imbalance: 0.4 }, _pushed_at: now } as unknown as ObFeatures;
export const sampleAssetOb: AssetObEntry = { ...ob, _pushed_at: now };
export const sampleEsof: Esof = { weekday: 2, hour_utc: 10, session: 'LONDON', days_to_expiry: 3.5, _pushed_at: now };
export const sampleSafety: Safety = { posture: 'STALKER', size_scale: 0.55, reasons: ['funding below -0.0001', 'DVOL above 55'], ts: now };
export const sampleState: TraderState = {
  capital: 25_013.37,
  open_positions: [{ symbol: 'BTCUSDT', side: 'SHORT', quantity: 0.05, entry_price: 97_000.5, opened_at: now }],
  posture: 'APEX',
  last_scan_number: 4242,
  algo_version: 'vel-div-1',
  updated_at: now,
};
export const samplePnl: DailyPnl = { date: '2026-11-24', realized_pnl: 13.37, unrealized_pnl: -2.5, trades: 3, capital: 25_013.37, updated_at: now };
export const sampleHeartbeat: Heartbeat = { service: 'scan-bridge', pid: 4242, host: 'localhost', version: '0.1.0', ts: now, state: 'running' };
export const sampleMetaHealth: MetaHealth = {
  rm_meta: 0.9, status: 'GREEN', m1_proc: 1, m2_heartbeat: 1, m3_data_freshness: 0.9, m4_control_plane: 1, m5_coherence: 1,
  subsystem_health: { processes: { 'scan-bridge': { score: 1, status: 'running' } }, data_sources: { scan: { score: 0.9, status: 'fresh' } } },
  timestamp: now,
};

/** One valid value for every key family of the data contract. */
export const CONTRACT_SAMPLES = [
  { map: 'DOLPHIN_FEATURES', key: 'latest_eigen_scan', value: sampleFeatureScan },
  { map: 'DOLPHIN_FEATURES', key: 'exf_latest', value: sampleExf },
  { map: 'DOLPHIN_FEATURES', key: 'ob_features_latest', value: sampleObFeatures },
  { map: 'DOLPHIN_FEATURES', key: 'esof_latest', value: sampleEsof },
  { map: 'DOLPHIN_FEATURES', key: 'asset_BTCUSDT_ob', value: sampleAssetOb },
  { map: 'DOLPHIN_SAFETY', key: 'latest', value: sampleSafety },
  { map: 'DOLPHIN_STATE_BLUE', key: 'latest_nautilus', value: sampleState },
  { map: 'DOLPHIN_PNL_BLUE', key: '2026-11-24', value: samplePnl },
  { map: 'DOLPHIN_HEARTBEAT', key: 'scan-bridge', value: sampleHeartbeat },
  { map: 'DOLPHIN_META_HEALTH', key: 'latest', value: sampleMetaHealth },
] as const;
