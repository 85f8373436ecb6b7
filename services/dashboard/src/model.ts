import { utcDate, velDiv, type DailyPnl, type FeatureScan, type Heartbeat, type MetaHealth, type TraderState } from '@dolphin/core';
import type {
  DailyPnlView, DailyReportView, DailyView, HealthRecord, JobView, LatencyBucket, LatencyView, Patch, Point, ScanPoint, ServiceRow, Snapshot, Topic, TraderView,
} from '../web/snapshot.ts';

/** Upper bounds (ms) of the latency histogram's buckets; the last one takes the rest. */
export const LATENCY_BUCKETS_MS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000, Infinity] as const;
const EQUITY_POINTS = 2_000;
const PNL_DAYS = 60;

/** What the supervisor says of one process (the fields the table shows). */
export interface SupervisedRow {
  name: string;
  state: string;
  pid?: number | undefined;
  critical?: boolean;
  uptimeS?: number | undefined;
  restarts?: number;
  usage?: { rssBytes: number; cpuPct: number } | undefined;
  detail?: string | undefined;
  heartbeat?: boolean;
  /** A scheduled entry's timer (the daily batch). */
  schedule?: { nextRunAt?: string | undefined } | undefined;
  lastExit?: { reason: string; code?: number | null; at?: string } | undefined;
}

export interface JobsListing {
  job_id: string;
  status: string;
  config_path?: string;
  date_range?: string[];
  created_at: string;
  completed_at: string | null;
  progress: { completed: number; failed: number; total_model_days: number };
}

/** A ring of the last `size` items. */
class Ring<T> {
  private items: T[] = [];
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
  }
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size * 2) this.items = this.items.slice(-this.size);
  }
  last(): T | undefined {
    return this.items.at(-1);
  }
  all(): T[] {
    return this.items.length > this.size ? this.items.slice(-this.size) : [...this.items];
  }
}

/** The p-th percentile (0–1) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

export function latencyView(samples: readonly { total: number; hops: Record<string, number> }[]): LatencyView {
  const totals = samples.map((s) => s.total).sort((a, b) => a - b);
  const buckets: LatencyBucket[] = LATENCY_BUCKETS_MS.map((le) => ({ le_ms: le, count: 0 }));
  for (const v of totals) (buckets.find((b) => v <= b.le_ms) as LatencyBucket).count++;
  const hops: Record<string, number> = {};
  for (const name of new Set(samples.flatMap((s) => Object.keys(s.hops)))) {
    const p50 = percentile(samples.map((s) => s.hops[name]).filter((v): v is number => v !== undefined).sort((a, b) => a - b), 0.5);
    if (p50 !== null) hops[name] = p50;
  }
  return {
    buckets: buckets.map((b) => ({ le_ms: Number.isFinite(b.le_ms) ? b.le_ms : -1, count: b.count })),
    count: totals.length,
    p50_ms: percentile(totals, 0.5),
    p99_ms: percentile(totals, 0.99),
    last_ms: samples.length > 0 ? (samples[samples.length - 1] as { total: number }).total : null,
    hops,
  };
}

/** The hops of a decision from the stamps the trader writes with its state, in ms. */
export function decisionLatency(stamps: Record<string, number> | undefined): { total: number; hops: Record<string, number> } | undefined {
  if (!stamps || stamps.decided_ns === undefined) return undefined;
  const start = stamps.file_ns ?? stamps.seen_ns ?? stamps.put_ns;
  if (start === undefined) return undefined;
  const ms = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? Math.max(0, b - a) / 1e6 : undefined);
  const hops: Record<string, number> = {};
  const add = (name: string, v: number | undefined) => { if (v !== undefined) hops[name] = v; };
  add('file_to_bridge', ms(stamps.file_ns, stamps.put_ns));
  add('bridge_to_listener', ms(stamps.put_ns, stamps.received_ns));
  add('listener_to_decision', ms(stamps.received_ns, stamps.decided_ns));
  return { total: Math.max(0, stamps.decided_ns - start) / 1e6, hops };
}

export interface ModelOptions {
  /** Points kept for the vel_div, health and latency windows. */
  history: number;
  members: string[];
  velDivThreshold: number;
  now?: () => number;
}

/**
 * Everything the page shows, kept in memory, and what changed since the last `takePatches()`.
 * Pure: the feed puts what it reads in; the server sends the snapshot and the patches out.
 */
export class DashboardModel {
  private readonly now: () => number;
  private readonly dirty = new Set<Topic>();
  private readonly newPoints = { health: [] as Point[], scan: [] as ScanPoint[], equity: [] as Point[] };
  private readonly healthHistory: Ring<Point>;
  private readonly scanHistory: Ring<ScanPoint>;
  private readonly equity = new Ring<Point>(EQUITY_POINTS);
  private readonly latencySamples: Ring<{ total: number; hops: Record<string, number> }>;
  private readonly pnlDays = new Map<string, DailyPnlView>();
  private readonly heartbeats = new Map<string, Heartbeat>();
  private supervised: SupervisedRow[] | undefined;
  private lastScanNumber = -1;
  private lastDecidedNs = -1;
  private readonly s: Omit<Snapshot, 'latency'>;

  constructor(o: ModelOptions) {
    this.now = o.now ?? Date.now;
    this.healthHistory = new Ring(o.history);
    this.scanHistory = new Ring(o.history);
    this.latencySamples = new Ring(o.history);
    const none = { received: null, error: null };
    this.s = {
      server_time: this.now(),
      link: { connected: false, since: this.now(), members: o.members },
      health: { ...none, latest: null, history: [] },
      scan: { ...none, latest: null, history: [], threshold: o.velDivThreshold },
      trader: { ...none, latest: null, equity: [] },
      pnl: { ...none, today: utcDate(this.now()), days: [] },
      services: { ...none, source: 'heartbeats', rows: [] },
      jobs: { ...none, rows: [], daily: { report: null, schedule: null } },
    };
  }

  snapshot(): Snapshot {
    return {
      ...this.s,
      server_time: this.now(),
      health: { ...this.s.health, history: this.healthHistory.all() },
      scan: { ...this.s.scan, history: this.scanHistory.all() },
      trader: { ...this.s.trader, equity: this.equity.all() },
      latency: latencyView(this.latencySamples.all()),
      pnl: this.pnlSection(),
    };
  }

  /** What changed since the last call; histories carry only their new points. */
  takePatches(): Patch[] {
    const out: Patch[] = [];
    for (const topic of this.dirty) {
      switch (topic) {
        case 'health': out.push({ topic, value: { ...this.s.health, history: this.newPoints.health.splice(0) } }); break;
        case 'scan': out.push({ topic, value: { ...this.s.scan, history: this.newPoints.scan.splice(0) } }); break;
        case 'trader': out.push({ topic, value: { ...this.s.trader, equity: this.newPoints.equity.splice(0) } }); break;
        case 'pnl': out.push({ topic, value: this.pnlSection() }); break;
        // Derived when sent (at most every flush), not on each decision.
        case 'latency': out.push({ topic, value: latencyView(this.latencySamples.all()) }); break;
        default: out.push({ topic, value: this.s[topic] } as Patch);
      }
    }
    this.dirty.clear();
    return out;
  }

  get connected(): boolean {
    return this.s.link.connected;
  }

  setLink(connected: boolean): void {
    if (connected === this.s.link.connected) return;
    this.s.link = { ...this.s.link, connected, since: this.now() };
    this.dirty.add('link');
  }

  onHealth(h: MetaHealth): void {
    const latest: HealthRecord = {
      rm_meta: h.rm_meta, status: h.status, m1_proc: h.m1_proc, m2_heartbeat: h.m2_heartbeat, m3_data_freshness: h.m3_data_freshness,
      m4_control_plane: h.m4_control_plane, m5_coherence: h.m5_coherence, timestamp: h.timestamp,
      subsystem_health: h.subsystem_health as HealthRecord['subsystem_health'],
    };
    this.s.health = { ...this.s.health, latest, received: this.now(), error: null };
    this.point(this.healthHistory, this.newPoints.health, { t: Date.parse(h.timestamp), v: h.rm_meta });
    this.dirty.add('health');
  }

  /** A scan as the bridge published it; the same or an older scan number is ignored. */
  onScan(scan: FeatureScan): boolean {
    if (scan.scan_number <= this.lastScanNumber) return false;
    this.lastScanNumber = scan.scan_number;
    const v = velDiv(scan);
    this.s.scan = { ...this.s.scan, received: this.now(), error: null, latest: { scan_number: scan.scan_number, timestamp: scan.timestamp, vel_div: v, assets: scan.assets.length } };
    this.point(this.scanHistory, this.newPoints.scan, { n: scan.scan_number, t: Date.parse(scan.timestamp), v });
    this.dirty.add('scan');
    return true;
  }

  onTrader(st: TraderState): void {
    const extra = st as TraderState & { unrealized_pnl?: number; day_start_equity?: number; entry_blocked?: string | string[] | null; day_locked?: boolean; stamps?: Record<string, number> };
    const unrealized = extra.unrealized_pnl ?? 0;
    const equity = Math.round((st.capital + unrealized) * 100) / 100;
    const latest: TraderView = {
      capital: st.capital, unrealized_pnl: unrealized, equity, day_start_equity: extra.day_start_equity ?? null, posture: st.posture,
      last_scan_number: st.last_scan_number, updated_at: st.updated_at, entry_blocked: Array.isArray(extra.entry_blocked) ? (extra.entry_blocked.length > 0 ? extra.entry_blocked.join('; ') : null) : (extra.entry_blocked ?? null), day_locked: extra.day_locked ?? false,
      open_positions: st.open_positions.map((p) => ({ symbol: p.symbol, side: p.side, quantity: p.quantity, entry_price: p.entry_price, opened_at: p.opened_at })),
    };
    const previous = this.s.trader.latest;
    this.s.trader = { ...this.s.trader, latest, received: this.now(), error: null };
    // A point where the curve bends, and one a minute on a flat stretch.
    const t = Date.parse(st.updated_at);
    const last = this.equity.last();
    if (!last || last.v !== equity || t - last.t >= 60_000 || previous?.open_positions.length !== latest.open_positions.length) {
      this.point(this.equity, this.newPoints.equity, { t, v: equity });
    }
    this.dirty.add('trader');
    const lat = decisionLatency(extra.stamps);
    if (lat && extra.stamps && (extra.stamps.decided_ns as number) > this.lastDecidedNs) {
      this.lastDecidedNs = extra.stamps.decided_ns as number;
      this.latencySamples.push(lat);
      this.dirty.add('latency');
    }
  }

  onPnl(date: string, p: DailyPnl): void {
    const fees = (p as DailyPnl & { fees?: number }).fees;
    this.pnlDays.set(date, { date, realized_pnl: p.realized_pnl, unrealized_pnl: p.unrealized_pnl, trades: p.trades, capital: p.capital, fees: fees ?? null, updated_at: p.updated_at });
    this.s.pnl = { ...this.s.pnl, received: this.now(), error: null };
    this.dirty.add('pnl');
  }

  onHeartbeat(hb: Heartbeat): void {
    this.heartbeats.set(hb.service, hb);
    this.rebuildServices();
  }

  /** The supervisor's table, or why it could not be read (then heartbeats alone fill it). */
  onSupervisor(rows: SupervisedRow[] | Error): void {
    if (rows instanceof Error) {
      this.supervised = undefined;
      this.s.services = { ...this.s.services, error: rows.message };
    } else {
      this.supervised = rows;
      this.s.services = { ...this.s.services, error: null, received: this.now() };
    }
    this.s.jobs = { ...this.s.jobs, daily: { ...this.s.jobs.daily, schedule: this.dailySchedule(this.supervised) } };
    this.dirty.add('jobs');
    this.rebuildServices();
  }

  /** The jobs API's recent jobs and its latest day report (null: none yet), or why they could not be read. */
  onJobs(rows: JobsListing[] | Error, latestReport: DailyReportView | null = null): void {
    if (rows instanceof Error) {
      this.s.jobs = { ...this.s.jobs, error: rows.message };
    } else {
      const dates = (d: string[] | undefined) => (!d ? '' : d.length <= 2 ? d.join(', ') : `${d[0]}..${d.at(-1)} (${d.length})`);
      const list: JobView[] = rows.map((j) => ({
        job_id: j.job_id, status: j.status, config_path: j.config_path ?? null, dates: dates(j.date_range), created_at: j.created_at, completed_at: j.completed_at,
        completed: j.progress.completed, failed: j.progress.failed, total: j.progress.total_model_days,
      }));
      const report: DailyReportView | null = latestReport && {
        date: latestReport.date, trades: latestReport.trades, realized_pnl: latestReport.realized_pnl, fees: latestReport.fees, max_drawdown: latestReport.max_drawdown,
        max_drawdown_pct: latestReport.max_drawdown_pct, posture_changes: latestReport.posture_changes, job_id: latestReport.job_id, job_status: latestReport.job_status, updated_at: latestReport.updated_at,
      };
      this.s.jobs = { rows: list, error: null, received: this.now(), daily: { ...this.s.jobs.daily, report } };
    }
    this.dirty.add('jobs');
  }

  /** The scheduled entry's state, next run and last exit, from the supervisor's rows. */
  private dailySchedule(rows: SupervisedRow[] | undefined): DailyView['schedule'] {
    const r = rows?.find((x) => x.schedule !== undefined);
    return r ? { state: r.state, next_run_at: r.schedule?.nextRunAt ?? null, last_exit: r.lastExit?.reason ?? null } : null;
  }

  /** A section's source failing (a read that threw), said on the page next to it. */
  sourceError(topic: 'health' | 'scan' | 'trader' | 'pnl', message: string): void {
    this.s[topic] = { ...this.s[topic], error: message } as never;
    this.dirty.add(topic);
  }

  private point<P extends Point>(ring: Ring<P>, pending: P[], p: P): void {
    ring.push(p);
    pending.push(p);
    if (pending.length > EQUITY_POINTS) pending.splice(0, pending.length - EQUITY_POINTS);
  }

  private pnlSection(): Snapshot['pnl'] {
    const days = [...this.pnlDays.values()].sort((a, b) => a.date.localeCompare(b.date)).slice(-PNL_DAYS);
    return { ...this.s.pnl, today: utcDate(this.now()), days };
  }

  private rebuildServices(): void {
    const now = this.now();
    const beatAge = (name: string) => {
      const hb = this.heartbeats.get(name);
      return hb ? Math.max(0, Math.round((now - Date.parse(hb.ts)) / 100) / 10) : null;
    };
    let rows: ServiceRow[];
    if (this.supervised) {
      rows = this.supervised.map((r) => ({
        name: r.name, state: r.state, pid: r.pid ?? null, uptime_s: r.uptimeS ?? null, restarts: r.restarts ?? null,
        rss_mb: r.usage ? Math.round(r.usage.rssBytes / 1048576) : null, cpu_pct: r.usage ? Math.round(r.usage.cpuPct * 10) / 10 : null,
        critical: r.critical ?? false, heartbeat_age_s: r.heartbeat === false ? null : beatAge(r.name), detail: r.detail ?? null,
      }));
    } else {
      rows = [...this.heartbeats.values()].sort((a, b) => a.service.localeCompare(b.service)).map((hb) => ({
        name: hb.service, state: hb.state, pid: hb.pid, restarts: null, rss_mb: null, cpu_pct: null, critical: false, detail: null,
        uptime_s: hb.started_at ? Math.round((now - Date.parse(hb.started_at)) / 1000) : null, heartbeat_age_s: beatAge(hb.service),
      }));
    }
    this.s.services = { ...this.s.services, source: this.supervised ? 'supervisor' : 'heartbeats', rows };
    this.dirty.add('services');
  }
}
