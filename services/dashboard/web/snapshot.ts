/**
 * What the dashboard server sends the page: a whole Snapshot when a stream opens, then Patches.
 * A patch replaces the fields it carries; its `history`/`equity` hold only the new points, which
 * the page appends. Times are epoch milliseconds. Shared by the server and the page (types only).
 */

export interface Point { t: number; v: number }
export interface ScanPoint extends Point { n: number }

export interface SubsystemEntry { score: number; status: string }
export interface HealthRecord {
  rm_meta: number;
  status: string;
  m1_proc: number;
  m2_heartbeat: number;
  m3_data_freshness: number;
  m4_control_plane: number;
  m5_coherence: number;
  subsystem_health: { processes: Record<string, SubsystemEntry>; data_sources: Record<string, SubsystemEntry> };
  timestamp: string;
}

export interface ScanView { scan_number: number; timestamp: string; vel_div: number; assets: number }

export interface PositionView { symbol: string; side: string; quantity: number; entry_price: number; opened_at: string }
export interface TraderView {
  capital: number;
  unrealized_pnl: number;
  equity: number;
  day_start_equity: number | null;
  posture: string;
  last_scan_number: number;
  updated_at: string;
  open_positions: PositionView[];
  entry_blocked: string | null;
  day_locked: boolean;
}

export interface LatencyBucket { le_ms: number; count: number }
export interface LatencyView {
  /** Over the last `window` decisions: scan file renamed → decision. */
  buckets: LatencyBucket[];
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  last_ms: number | null;
  /** p50 of each hop over the same window. */
  hops: Record<string, number>;
}

export interface DailyPnlView { date: string; realized_pnl: number; unrealized_pnl: number; trades: number; capital: number; fees: number | null; updated_at: string }

export interface ServiceRow {
  name: string;
  state: string;
  pid: number | null;
  uptime_s: number | null;
  restarts: number | null;
  rss_mb: number | null;
  cpu_pct: number | null;
  critical: boolean;
  /** Seconds since its last heartbeat (null: it writes none, or none was seen). */
  heartbeat_age_s: number | null;
  detail: string | null;
}

export interface JobView {
  job_id: string;
  status: string;
  /** The backtest config it ran (null from a jobs API that does not say). */
  config_path: string | null;
  /** Its dates, shortened: one, two, or first..last (n). */
  dates: string;
  created_at: string;
  completed_at: string | null;
  completed: number;
  failed: number;
  total: number;
}

/** The latest day report of the daily batch (the jobs API's GET /reports). */
export interface DailyReportView {
  date: string;
  trades: number;
  realized_pnl: number;
  fees: number;
  max_drawdown: number;
  max_drawdown_pct: number;
  posture_changes: number;
  job_id: string | null;
  job_status: string | null;
  updated_at: string;
}

/** The daily batch: its latest report, and its scheduled entry as the supervisor says (null without one). */
export interface DailyView {
  report: DailyReportView | null;
  schedule: { state: string; next_run_at: string | null; last_exit: string | null } | null;
}

/** A value that came from somewhere, when it came, and what went wrong last time. */
export interface Sourced { received: number | null; error: string | null }

export interface Snapshot {
  server_time: number;
  link: { connected: boolean; since: number; members: string[] };
  health: Sourced & { latest: HealthRecord | null; history: Point[] };
  scan: Sourced & { latest: ScanView | null; history: ScanPoint[]; /** The strategy's entry threshold (trader.strategy.velDivThreshold). */ threshold: number };
  trader: Sourced & { latest: TraderView | null; equity: Point[] };
  latency: LatencyView;
  pnl: Sourced & { today: string; days: DailyPnlView[] };
  services: Sourced & { source: 'supervisor' | 'heartbeats'; rows: ServiceRow[] };
  jobs: Sourced & { rows: JobView[]; daily: DailyView };
}

export type Topic = Exclude<keyof Snapshot, 'server_time'>;
export type Patch = { [K in Topic]: { topic: K; value: Partial<Snapshot[K]> } }[Topic];
