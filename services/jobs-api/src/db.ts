import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { isoMicros } from '@dolphin/core';
import type { StrategyState } from '@dolphin/strategy';

export type JobStatus = 'pending' | 'running' | 'completed' | 'partial' | 'failed';
export type DetailStatus = 'pending' | 'running' | 'completed' | 'failed';
export type Action = 'buy' | 'sell' | 'no_trade';

export interface JobRow {
  job_id: string;
  config_path: string;
  config: string;
  date_range: string;
  models: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  error: string | null;
  total_model_days: number;
  owner_pid: number | null;
}

export interface DetailRow {
  date: string;
  model: string;
  status: DetailStatus;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  error: string | null;
}

/** One row of GET /results: a buy, a sell, or a day without a trade. */
export interface PositionRecord {
  action_id: number;
  action: Action;
  symbol: string | null;
  amount: number;
  price: number | null;
  cash: number;
  portfolio_value: number;
  daily_profit: number;
  daily_return_pct: number;
  fee: number;
  realized: number;
  reason: string | null;
  scan_number: number | null;
  ts: string;
  holdings: Array<{ symbol: string; side: string; quantity: number; entry_price: number }>;
}

export interface ModelDayResult {
  positions: PositionRecord[];
  reasoning: Array<{ ts: string; scan_number: number | null; kind: string; message: string }>;
  toolUsage: Array<{ tool: string; count: number; duration_ms: number }>;
  endState: StrategyState;
  /** Cash plus the open position marked at the day's last scan. */
  endEquity: number;
}

/** The AI-Trader job tables, in SQLite (WAL, foreign keys on). */
const SCHEMA = `
  create table if not exists jobs (
    job_id text primary key,
    config_path text not null,
    config text not null, -- the config as it was at the trigger: a job runs, and resumes, on that
    date_range text not null,
    models text not null,
    request_key text not null,
    status text not null check (status in ('pending', 'running', 'completed', 'partial', 'failed')),
    created_at text not null,
    started_at text,
    completed_at text,
    error text,
    total_model_days integer not null,
    owner_pid integer -- the process running it; a job whose owner died is taken over
  );
  -- One job at a time, enforced here: a second pending or running job cannot be inserted.
  create unique index if not exists jobs_one_active on jobs ((1)) where status in ('pending', 'running');
  create table if not exists job_details (
    id integer primary key autoincrement,
    job_id text not null references jobs (job_id) on delete cascade,
    date text not null,
    model text not null,
    status text not null check (status in ('pending', 'running', 'completed', 'failed')),
    started_at text,
    completed_at text,
    duration_seconds real,
    error text,
    end_state text, -- the strategy state after the day; the next day of the model starts from it
    end_equity real, -- cash + open position marked at the day's last scan
    unique (job_id, date, model)
  );
  create table if not exists positions (
    id integer primary key autoincrement,
    job_id text not null references jobs (job_id) on delete cascade,
    date text not null,
    model text not null,
    action_id integer not null,
    action text not null check (action in ('buy', 'sell', 'no_trade')),
    symbol text,
    amount real not null,
    price real,
    cash real not null,
    portfolio_value real not null,
    daily_profit real not null,
    daily_return_pct real not null,
    fee real not null,
    realized real not null,
    reason text,
    scan_number integer,
    ts text not null,
    unique (job_id, date, model, action_id)
  );
  create index if not exists positions_lookup on positions (job_id, model, date);
  create table if not exists holdings (
    id integer primary key autoincrement,
    position_id integer not null references positions (id) on delete cascade,
    symbol text not null,
    side text not null,
    quantity real not null,
    entry_price real not null
  );
  create table if not exists reasoning_logs (
    id integer primary key autoincrement,
    job_id text not null references jobs (job_id) on delete cascade,
    date text not null,
    model text not null,
    ts text not null,
    scan_number integer,
    kind text not null,
    message text not null
  );
  -- A day's report of the daily batch (dolphin daily): the paper trader's day, and the backtest
  -- job run for it. One per kind and day: a rerun replaces it. No foreign key to jobs: a report
  -- stands on its own, and the job it names is looked up when it is read.
  create table if not exists reports (
    kind text not null check (kind in ('daily')),
    date text not null,
    job_id text,
    report text not null,
    created_at text not null,
    updated_at text not null,
    primary key (kind, date)
  );
  create table if not exists tool_usage (
    id integer primary key autoincrement,
    job_id text not null references jobs (job_id) on delete cascade,
    date text not null,
    model text not null,
    tool text not null,
    count integer not null,
    duration_ms real not null
  );
`;

/** A stored day report (GET /reports/:date). */
export interface ReportRow {
  kind: 'daily';
  date: string;
  job_id: string | null;
  /** The report as JSON text. */
  report: string;
  created_at: string;
  updated_at: string;
}

export interface NewJob {
  configPath: string;
  config: unknown;
  dates: string[];
  models: string[];
}

/** Whether a process of this machine is alive (the jobs database is a local file). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const requestKey = (j: Pick<NewJob, 'configPath' | 'dates' | 'models'>) => `${j.configPath}|${j.dates.join(',')}|${[...j.models].sort().join(',')}`;

/**
 * The jobs database. node:sqlite (built into Node 24: nothing to compile on a fresh machine),
 * WAL so readers (the status and results endpoints) never wait for the worker's writes, foreign
 * keys with ON DELETE CASCADE. Everything a model-day produces is written in one transaction
 * with its status: a process killed mid-day leaves that day pending, never half written.
 */
export class JobsDb {
  readonly file: string;
  private readonly db: DatabaseSync;
  private readonly st: Record<string, StatementSync>;

  constructor(file: string) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new DatabaseSync(file, { timeout: 5_000 });
    this.db.exec('pragma journal_mode = wal; pragma synchronous = normal; pragma foreign_keys = on;');
    this.db.exec(SCHEMA);
    // Columns added since the first schema, for a database an earlier version created.
    for (const [table, column, type] of [['jobs', 'owner_pid', 'integer'], ['job_details', 'end_equity', 'real']] as const) {
      const cols = this.db.prepare(`pragma table_info(${table})`).all() as Array<{ name: string }>;
      if (!cols.some((c) => c.name === column)) this.db.exec(`alter table ${table} add column ${column} ${type}`);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      insertJob: p(`insert into jobs (job_id, config_path, config, date_range, models, request_key, status, created_at, total_model_days)
                    values (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`),
      insertDetail: p("insert into job_details (job_id, date, model, status) values (?, ?, ?, 'pending')"),
      job: p('select * from jobs where job_id = ?'),
      active: p("select * from jobs where status in ('pending', 'running') limit 1"),
      activeKey: p("select job_id, request_key from jobs where status in ('pending', 'running') limit 1"),
      details: p('select date, model, status, started_at, completed_at, duration_seconds, error from job_details where job_id = ? order by date, model'),
      jobRunning: p("update jobs set status = 'running', started_at = coalesce(started_at, ?) where job_id = ? and status = 'pending'"),
      detailRunning: p("update job_details set status = 'running', started_at = ?, error = null where job_id = ? and date = ? and model = ?"),
      detailDone: p("update job_details set status = 'completed', completed_at = ?, duration_seconds = ?, end_state = ?, end_equity = ?, error = null where job_id = ? and date = ? and model = ?"),
      byStatus: p('select status, count(*) as n from jobs group by status'),
      claim: p("update jobs set owner_pid = ? where job_id = ? and status in ('pending', 'running') and (owner_pid is null or owner_pid = ? or owner_pid = ?)"),
      equity: p("select date, end_equity from job_details where job_id = ? and model = ? and status = 'completed' order by date"),
      detailFailed: p("update job_details set status = 'failed', completed_at = ?, duration_seconds = ?, error = ? where job_id = ? and date = ? and model = ?"),
      counts: p('select status, count(*) as n from job_details where job_id = ? group by status'),
      finish: p('update jobs set status = ?, completed_at = ?, error = ? where job_id = ?'),
      endState: p("select end_state from job_details where job_id = ? and model = ? and date = ? and status = 'completed'"),
      resetRunning: p("update job_details set status = 'pending', started_at = null where job_id = ? and status = 'running'"),
      insertPosition: p(`insert into positions (job_id, date, model, action_id, action, symbol, amount, price, cash, portfolio_value, daily_profit, daily_return_pct, fee, realized, reason, scan_number, ts)
                         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertHolding: p('insert into holdings (position_id, symbol, side, quantity, entry_price) values (?, ?, ?, ?, ?)'),
      insertReasoning: p('insert into reasoning_logs (job_id, date, model, ts, scan_number, kind, message) values (?, ?, ?, ?, ?, ?, ?)'),
      insertTool: p('insert into tool_usage (job_id, date, model, tool, count, duration_ms) values (?, ?, ?, ?, ?, ?)'),
      holdingsOf: p('select symbol, side, quantity, entry_price from holdings where position_id = ? order by id'),
      report: p('select * from reports where kind = ? and date = ?'),
      putReport: p(`insert into reports (kind, date, job_id, report, created_at, updated_at) values (?, ?, ?, ?, ?, ?)
                    on conflict (kind, date) do update set job_id = excluded.job_id, report = excluded.report, updated_at = excluded.updated_at`),
      recentReports: p('select * from reports where kind = ? order by date desc limit ?'),
    };
  }

  private tx<T>(work: () => T): T {
    this.db.exec('begin immediate');
    try {
      const out = work();
      this.db.exec('commit');
      return out;
    } catch (err) {
      this.db.exec('rollback');
      throw err;
    }
  }

  /**
   * A new job with a pending model-day for each date × model; or, when a job is already active,
   * that job (`same`: it asks for the same config, dates and models). The single-active rule is
   * the unique index: two triggers at the same instant get one insert and one conflict.
   */
  createJob(j: NewJob, now = isoMicros()): { created: JobRow } | { active: JobRow; same: boolean } {
    const key = requestKey(j);
    try {
      const jobId = randomUUID();
      this.tx(() => {
        this.st.insertJob!.run(jobId, j.configPath, JSON.stringify(j.config), JSON.stringify(j.dates), JSON.stringify(j.models), key, now, j.dates.length * j.models.length);
        for (const date of j.dates) for (const model of j.models) this.st.insertDetail!.run(jobId, date, model);
      });
      return { created: this.job(jobId) as JobRow };
    } catch (err) {
      if (!/UNIQUE constraint failed: index 'jobs_one_active'/.test((err as Error).message)) throw err;
      const active = this.st.activeKey!.get() as { job_id: string; request_key: string } | undefined;
      if (!active) return this.createJob(j, now); // it finished in between
      return { active: this.job(active.job_id) as JobRow, same: active.request_key === key };
    }
  }

  job(jobId: string): JobRow | undefined {
    return this.st.job!.get(jobId) as JobRow | undefined;
  }

  activeJob(): JobRow | undefined {
    return this.st.active!.get() as JobRow | undefined;
  }

  details(jobId: string): DetailRow[] {
    return this.st.details!.all(jobId) as unknown as DetailRow[];
  }

  progress(jobId: string): { total_model_days: number; completed: number; failed: number; running: number; pending: number } {
    const c: Record<string, number> = {};
    for (const r of this.st.counts!.all(jobId) as Array<{ status: string; n: number }>) c[r.status] = r.n;
    const completed = c.completed ?? 0;
    const failed = c.failed ?? 0;
    const running = c.running ?? 0;
    const pending = c.pending ?? 0;
    return { total_model_days: completed + failed + running + pending, completed, failed, running, pending };
  }

  /**
   * Makes this process the job's runner, unless another live process runs it already: true when
   * it may go on. A job whose runner died (kill -9) can be claimed by the next process.
   */
  claim(jobId: string, pid = process.pid): boolean {
    const job = this.job(jobId);
    if (!job || (job.status !== 'pending' && job.status !== 'running')) return false;
    const previous = job.owner_pid;
    if (previous !== null && previous !== pid && processAlive(previous)) return false;
    return Number(this.st.claim!.run(pid, jobId, pid, previous ?? pid).changes) === 1;
  }

  /** The first model-day starting makes the job running. */
  startDetail(jobId: string, date: string, model: string, now = isoMicros()): void {
    this.tx(() => {
      this.st.jobRunning!.run(now, jobId);
      this.st.detailRunning!.run(now, jobId, date, model);
    });
  }

  /** A model-day's every output and its completion, in one transaction. */
  completeDetail(jobId: string, date: string, model: string, r: ModelDayResult, durationS: number, now = isoMicros()): void {
    this.tx(() => {
      for (const p of r.positions) {
        const res = this.st.insertPosition!.run(jobId, date, model, p.action_id, p.action, p.symbol, p.amount, p.price, p.cash, p.portfolio_value,
          p.daily_profit, p.daily_return_pct, p.fee, p.realized, p.reason, p.scan_number, p.ts);
        for (const h of p.holdings) this.st.insertHolding!.run(res.lastInsertRowid, h.symbol, h.side, h.quantity, h.entry_price);
      }
      for (const l of r.reasoning) this.st.insertReasoning!.run(jobId, date, model, l.ts, l.scan_number, l.kind, l.message);
      for (const t of r.toolUsage) this.st.insertTool!.run(jobId, date, model, t.tool, t.count, t.duration_ms);
      this.st.detailDone!.run(now, durationS, JSON.stringify(r.endState), r.endEquity, jobId, date, model);
    });
  }

  failDetail(jobId: string, date: string, model: string, error: string, durationS: number, now = isoMicros()): void {
    this.st.detailFailed!.run(now, durationS, error, jobId, date, model);
  }

  /** completed (all model-days), failed (all failed), partial (some failed). */
  finishJob(jobId: string, now = isoMicros()): JobStatus {
    const p = this.progress(jobId);
    const status: JobStatus = p.failed === 0 ? 'completed' : p.completed === 0 ? 'failed' : 'partial';
    const error = p.failed > 0 ? `${p.failed} of ${p.total_model_days} model-days failed` : null;
    this.st.finish!.run(status, now, error, jobId);
    return status;
  }

  /** Ends a job that cannot run at all (its config became unreadable, say). */
  failJob(jobId: string, error: string, now = isoMicros()): void {
    this.st.finish!.run('failed', now, error, jobId);
  }

  /** Where the model's next day starts: the state after `date`, if that model-day completed. */
  endState(jobId: string, model: string, date: string): StrategyState | undefined {
    const row = this.st.endState!.get(jobId, model, date) as { end_state: string | null } | undefined;
    return row?.end_state ? (JSON.parse(row.end_state) as StrategyState) : undefined;
  }

  /** After a crash: model-days that were running go back to pending (their outputs were never committed). */
  resetInterrupted(jobId: string): number {
    return Number(this.st.resetRunning!.run(jobId).changes);
  }

  /** GET /results: positions with their holdings, filtered. */
  results(f: { jobId?: string; date?: string; model?: string }): Array<PositionRecord & { job_id: string; date: string; model: string }> {
    const where: string[] = [];
    const args: string[] = [];
    if (f.jobId) { where.push('job_id = ?'); args.push(f.jobId); }
    if (f.date) { where.push('date = ?'); args.push(f.date); }
    if (f.model) { where.push('model = ?'); args.push(f.model); }
    const rows = this.db.prepare(`select * from positions ${where.length ? `where ${where.join(' and ')}` : ''} order by job_id, model, date, action_id`).all(...args) as unknown as Array<PositionRecord & { id: number; job_id: string; date: string; model: string }>;
    return rows.map(({ id, ...r }) => ({ ...r, holdings: this.st.holdingsOf!.all(id) as PositionRecord['holdings'] }));
  }

  reasoning(jobId: string, model?: string): Array<{ date: string; model: string; ts: string; kind: string; message: string }> {
    return this.db.prepare(`select date, model, ts, kind, message from reasoning_logs where job_id = ? ${model ? 'and model = ?' : ''} order by id`).all(...(model ? [jobId, model] : [jobId])) as never;
  }

  toolUsage(jobId: string): Array<{ date: string; model: string; tool: string; count: number; duration_ms: number }> {
    return this.db.prepare('select date, model, tool, count, duration_ms from tool_usage where job_id = ? order by id').all(jobId) as never;
  }

  /** The jobs left pending or running by a previous process. */
  unfinished(): JobRow[] {
    return this.db.prepare("select * from jobs where status in ('pending', 'running') order by created_at").all() as unknown as JobRow[];
  }

  recentJobs(limit = 20): JobRow[] {
    return this.db.prepare('select * from jobs order by created_at desc limit ?').all(limit) as unknown as JobRow[];
  }

  /** Jobs by status (the metrics gauge). */
  countsByStatus(): Record<string, number> {
    return Object.fromEntries((this.st.byStatus!.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n]));
  }

  /** A model's equity at the end of each completed day. */
  equityByDay(jobId: string, model: string): Array<{ date: string; end_equity: number }> {
    return this.st.equity!.all(jobId, model) as never;
  }

  /** Stores a day's report, replacing the one of that day if any (`replaced`). */
  putReport(r: { kind: 'daily'; date: string; jobId: string | null; report: unknown }, now = isoMicros()): { row: ReportRow; replaced: boolean } {
    return this.tx(() => {
      const replaced = this.st.report!.get(r.kind, r.date) !== undefined;
      this.st.putReport!.run(r.kind, r.date, r.jobId, JSON.stringify(r.report), now, now);
      return { row: this.report(r.kind, r.date) as ReportRow, replaced };
    });
  }

  report(kind: 'daily', date: string): ReportRow | undefined {
    return this.st.report!.get(kind, date) as ReportRow | undefined;
  }

  /** The newest days first. */
  recentReports(kind: 'daily', limit = 20): ReportRow[] {
    return this.st.recentReports!.all(kind, limit) as unknown as ReportRow[];
  }

  /** Answers a trivial query: the /health check. */
  ping(): boolean {
    return (this.db.prepare('select 1 as ok').get() as { ok: number }).ok === 1;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
