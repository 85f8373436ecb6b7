import { describe, expect, it } from 'vitest';
import type { FeatureScan, Heartbeat, MetaHealth, TraderState } from '@dolphin/core';
import { DashboardModel, decisionLatency, latencyView, percentile } from './model.ts';

const T0 = Date.parse('2026-12-02T10:00:00Z');

function model(now = { t: T0 }) {
  return { m: new DashboardModel({ history: 5, members: ['127.0.0.1:5701'], velDivThreshold: -0.02, now: () => now.t }), now };
}

const scan = (n: number, w50: number, w150: number): FeatureScan => ({
  scan_number: n, timestamp: new Date(T0 + n * 1000).toISOString(), timestamp_ns: (T0 + n * 1000) * 1e6,
  w50_velocity: w50, w150_velocity: w150, assets: ['BTCUSDT', 'ETHUSDT'], asset_prices: [97_000, 3_500],
} as unknown as FeatureScan);

const state = (over: Partial<TraderState> & Record<string, unknown> = {}): TraderState => ({
  capital: 25_000, open_positions: [], posture: 'APEX', last_scan_number: 1, algo_version: 'vel-div-1', updated_at: new Date(T0).toISOString(), ...over,
} as TraderState);

describe('DashboardModel', () => {
  it('keeps the latest scan with vel_div, ignores an older or repeated one, and patches only new history points', () => {
    const { m } = model();
    expect(m.onScan(scan(3, 0.01, 0.04))).toBe(true);
    expect(m.onScan(scan(3, 0.5, 0))).toBe(false);
    expect(m.onScan(scan(2, 0.5, 0))).toBe(false);
    expect(m.snapshot().scan.latest).toMatchObject({ scan_number: 3, assets: 2 });
    expect(m.snapshot().scan.latest?.vel_div).toBeCloseTo(-0.03, 12);
    const first = m.takePatches();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ topic: 'scan', value: { history: [{ n: 3 }] } });
    expect(m.takePatches()).toEqual([]);
    m.onScan(scan(4, 0, 0));
    expect(m.takePatches()[0]).toMatchObject({ topic: 'scan', value: { history: [{ n: 4, v: 0 }] } });
    expect(m.snapshot().scan.history.map((p) => p.n)).toEqual([3, 4]);
  });

  it('bounds every history to its window', () => {
    const { m } = model();
    for (let n = 1; n <= 30; n++) m.onScan(scan(n, 0, 0));
    expect(m.snapshot().scan.history.map((p) => p.n)).toEqual([26, 27, 28, 29, 30]);
  });

  it('turns the trader state into equity, blocked reasons and one latency sample per decision', () => {
    const { m } = model();
    const stamps = { file_ns: 1_000_000_000, seen_ns: 1_000_200_000, put_ns: 1_000_500_000, received_ns: 1_001_500_000, decided_ns: 1_001_600_000 };
    m.onTrader(state({ capital: 24_990, unrealized_pnl: -12.345, entry_blocked: ['posture TURTLE', 'stale safety'], day_start_equity: 25_000, stamps }));
    const t = m.snapshot().trader.latest;
    expect(t).toMatchObject({ capital: 24_990, equity: 24_977.66, entry_blocked: 'posture TURTLE; stale safety', day_start_equity: 25_000 });
    expect(m.snapshot().latency).toMatchObject({ count: 1, p50_ms: 1.6, last_ms: 1.6 });
    expect(m.snapshot().latency.hops).toEqual({ file_to_bridge: 0.5, bridge_to_listener: 1, listener_to_decision: 0.1 });
    // The same decision again (a re-read after a reconnect) is not counted twice.
    m.onTrader(state({ capital: 24_990, stamps }));
    expect(m.snapshot().latency.count).toBe(1);
    expect(m.snapshot().trader.latest?.entry_blocked).toBeNull();
  });

  it('adds an equity point when equity moves, not for every unchanged state', () => {
    const { m } = model();
    const at = (s: number) => new Date(T0 + s * 1000).toISOString();
    m.onTrader(state({ updated_at: at(0) }));
    m.onTrader(state({ updated_at: at(1) }));
    m.onTrader(state({ updated_at: at(2), capital: 25_010 }));
    m.onTrader(state({ updated_at: at(70), capital: 25_010 }));
    expect(m.snapshot().trader.equity.map((p) => p.v)).toEqual([25_000, 25_010, 25_010]);
  });

  it('says which PnL day is today and sorts the days', () => {
    const now = { t: T0 };
    const { m } = model(now);
    const pnl = (date: string, realized: number) => ({ date, realized_pnl: realized, unrealized_pnl: 0, trades: 2, capital: 25_000 + realized, updated_at: `${date}T12:00:00.000000Z`, fees: 1.5 });
    m.onPnl('2026-12-02', pnl('2026-12-02', 10));
    m.onPnl('2026-11-30', pnl('2026-11-30', -4));
    expect(m.snapshot().pnl).toMatchObject({ today: '2026-12-02', days: [{ date: '2026-11-30', fees: 1.5 }, { date: '2026-12-02', realized_pnl: 10 }] });
    now.t = Date.parse('2026-12-03T00:00:01Z');
    expect(m.snapshot().pnl.today).toBe('2026-12-03');
  });

  it('builds the services table from the supervisor, and from heartbeats when there is none', () => {
    const { m } = model();
    const beat = (service: string, ageS: number): Heartbeat => ({ service, pid: 42, host: 'h', version: '0.1.0', ts: new Date(T0 - ageS * 1000).toISOString(), state: 'running', started_at: new Date(T0 - 60_000).toISOString() } as Heartbeat);
    m.onHeartbeat(beat('safety', 1.5));
    expect(m.snapshot().services).toMatchObject({ source: 'heartbeats', rows: [{ name: 'safety', pid: 42, uptime_s: 60, heartbeat_age_s: 1.5, restarts: null }] });
    m.onSupervisor([{ name: 'member', state: 'running', pid: 7, heartbeat: false, usage: { rssBytes: 300 * 1048576, cpuPct: 12.34 }, restarts: 1, critical: true },
      { name: 'safety', state: 'backoff', heartbeat: true, detail: 'exited 1; next start in 200 ms' }]);
    expect(m.snapshot().services).toMatchObject({
      source: 'supervisor', error: null,
      rows: [{ name: 'member', rss_mb: 300, cpu_pct: 12.3, heartbeat_age_s: null, restarts: 1, critical: true }, { name: 'safety', state: 'backoff', heartbeat_age_s: 1.5, detail: 'exited 1; next start in 200 ms' }],
    });
    m.onSupervisor(new Error('no supervisor runs'));
    expect(m.snapshot().services).toMatchObject({ source: 'heartbeats', error: 'no supervisor runs' });
  });

  it('keeps the last health and jobs when their source fails, with the error beside them', () => {
    const { m } = model();
    m.onHealth({ rm_meta: 0.4, status: 'DEGRADED', m1_proc: 1, m2_heartbeat: 0.5, m3_data_freshness: 1, m4_control_plane: 1, m5_coherence: 1, subsystem_health: { processes: {}, data_sources: {} }, timestamp: new Date(T0).toISOString() } as MetaHealth);
    m.onJobs([{ job_id: 'j1', status: 'running', created_at: 'x', completed_at: null, progress: { completed: 2, failed: 1, total_model_days: 8 } }]);
    m.onJobs(new Error('jobs API at http://127.0.0.1:9420: ECONNREFUSED'));
    m.sourceError('health', 'invalid value at latest');
    const s = m.snapshot();
    expect(s.health).toMatchObject({ latest: { status: 'DEGRADED' }, error: 'invalid value at latest', history: [{ v: 0.4 }] });
    expect(s.jobs).toMatchObject({ rows: [{ job_id: 'j1', completed: 2, failed: 1, total: 8 }], error: /ECONNREFUSED/ });
  });

  it('the daily batch: the latest day report with its backtest\'s status, and the daily entry\'s next run from the supervisor; kept when the jobs API fails', () => {
    const { m } = model();
    expect(m.snapshot().jobs.daily).toEqual({ report: null, schedule: null });
    m.onJobs(
      [{ job_id: 'j1', status: 'completed', config_path: 'daily.json', date_range: ['2026-12-01'], created_at: 'x', completed_at: 'y', progress: { completed: 2, failed: 0, total_model_days: 2 } }],
      { date: '2026-12-01', trades: 3, realized_pnl: 12.5, fees: 1.2, max_drawdown: 4, max_drawdown_pct: 0.02, posture_changes: 2, job_id: 'j1', job_status: 'completed', updated_at: '2026-12-02T00:21:07.000000Z' },
    );
    m.onSupervisor([
      { name: 'jobs-api', state: 'running' },
      { name: 'daily', state: 'scheduled', detail: 'next run 2026-12-03 00:19:44 UTC; last run 2026-12-02 00:21:07 UTC exited with code 0', schedule: { nextRunAt: '2026-12-03T00:19:44.000Z' }, lastExit: { code: 0, at: '2026-12-02T00:21:07.000Z', reason: 'exited with code 0' } },
    ]);
    const s = m.snapshot();
    expect(s.jobs.rows[0]).toMatchObject({ job_id: 'j1', config_path: 'daily.json', dates: '2026-12-01' });
    expect(s.jobs.daily).toEqual({
      report: { date: '2026-12-01', trades: 3, realized_pnl: 12.5, fees: 1.2, max_drawdown: 4, max_drawdown_pct: 0.02, posture_changes: 2, job_id: 'j1', job_status: 'completed', updated_at: '2026-12-02T00:21:07.000000Z' },
      schedule: { state: 'scheduled', next_run_at: '2026-12-03T00:19:44.000Z', last_exit: 'exited with code 0' },
    });
    m.onJobs(new Error('jobs API at http://127.0.0.1:9420: ECONNREFUSED'));
    expect(m.snapshot().jobs.daily.report?.date).toBe('2026-12-01');
  });

  it('records when the cluster link went down and came back', () => {
    const now = { t: T0 };
    const { m } = model(now);
    m.setLink(true);
    now.t += 5_000;
    m.setLink(false);
    expect(m.snapshot().link).toMatchObject({ connected: false, since: T0 + 5_000 });
    expect(m.takePatches().filter((p) => p.topic === 'link')).toHaveLength(1);
    m.setLink(false);
    expect(m.takePatches()).toEqual([]);
  });
});

describe('latency', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 0.5)).toBe(50);
    expect(percentile(v, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('buckets by upper bound, the last taking the rest', () => {
    const l = latencyView([0.2, 0.25, 0.9, 3, 4000].map((total) => ({ total, hops: {} })));
    expect(l.buckets.filter((b) => b.count > 0)).toEqual([{ le_ms: 0.25, count: 2 }, { le_ms: 1, count: 1 }, { le_ms: 5, count: 1 }, { le_ms: -1, count: 1 }]);
    expect(l.count).toBe(5);
  });

  it('starts at the file stamp, else the bridge seeing it, and needs the decision stamp', () => {
    expect(decisionLatency({ seen_ns: 1e9, decided_ns: 1.002e9 })?.total).toBeCloseTo(2, 9);
    expect(decisionLatency({ file_ns: 1e9 })).toBeUndefined();
    expect(decisionLatency(undefined)).toBeUndefined();
  });
});
