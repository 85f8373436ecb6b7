import { isDolphinError, loadConfig, resolveToken, utcDate } from '@dolphin/core';
import type { DayReport, JobsClient, JobStatusView, ModelSummaryView } from '@dolphin/jobs-api';

/** `dolphin daily` exit statuses (sysexits where one fits; systemd marks the unit failed on any but 0). */
export const DAILY_EXIT = {
  OK: 0,
  /** The backtest ended failed or partial, or was still running at jobs.daily.timeoutS. */
  JOB_FAILED: 1,
  /** A bad --date. */
  USAGE: 2,
  /** No live ledger to report on (EX_NOINPUT). */
  NO_LEDGER: 66,
  /** The jobs API does not answer, or fails (EX_UNAVAILABLE). */
  UNAVAILABLE: 69,
  /** The token, or the configured backtest, refused (EX_CONFIG): running again cannot help. */
  CONFIG: 78,
} as const;

export interface DailyOptions {
  /** The UTC day to run (default: yesterday). */
  date?: string;
  /** Wait this long for the jobs API to answer at first (it may be starting too). */
  waitApiS: number;
}

const DAY_MS = 86_400_000;
const POLL_MS = 1_000;
const say = (line: string) => console.log(line);
const fail = (line: string) => console.error(`dolphin: daily: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const money = (x: number) => x.toFixed(2);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
const hhmm = (iso: string) => iso.slice(11, 16);

/** The exit status an error from the jobs API means. */
function exitFor(err: unknown): number {
  if (isDolphinError(err, 'DOLPHIN_JOBS_REFUSED')) {
    const status = err.details?.status;
    return status === 401 || status === 400 || status === 422 ? DAILY_EXIT.CONFIG : DAILY_EXIT.UNAVAILABLE;
  }
  if (isDolphinError(err, 'DOLPHIN_TRADER_LEDGER_MISSING')) return DAILY_EXIT.NO_LEDGER;
  if (isDolphinError(err, 'DOLPHIN_CONFIG_SECRET')) return DAILY_EXIT.CONFIG;
  return DAILY_EXIT.UNAVAILABLE;
}

/** Triggers the backtest of `date` (waiting while another job runs), then waits until it ends or `deadline`. */
async function runBacktest(client: JobsClient, configPath: string, date: string, models: string[] | undefined, deadline: number): Promise<JobStatusView> {
  let jobId: string | undefined;
  let said = '';
  while (jobId === undefined) {
    const t = await client.trigger(configPath, [date], models);
    if ('jobId' in t) jobId = t.jobId;
    else {
      if (Date.now() > deadline) throw new Error(`the jobs API kept another job running past jobs.daily.timeoutS: ${t.busy}`);
      if (said !== t.busy) say(`  waiting: ${(said = t.busy)}`);
      await sleep(5 * POLL_MS);
    }
  }
  for (;;) {
    const job = await client.job(jobId);
    if (job.status === 'completed' || job.status === 'partial' || job.status === 'failed') return job;
    if (Date.now() > deadline) return job;
    await sleep(POLL_MS);
  }
}

function backtestLine(job: JobStatusView, models: ModelSummaryView[]): string {
  const took = job.total_duration_seconds === null ? '' : ` in ${job.total_duration_seconds} s`;
  const perModel = models.map((m) => `${m.model} ${m.return_pct === null ? '—' : `${m.return_pct >= 0 ? '+' : '−'}${Math.abs(m.return_pct).toFixed(2)} %`} (${m.trades} trades)`).join(', ');
  const done = `${job.progress.completed}/${job.progress.total_model_days} model-days`;
  return `  backtest  ${job.config_path}, job ${job.job_id} ${job.status}${took} (${done})${perModel ? `: ${perModel}` : ''}${job.error ? ` — ${job.error}` : ''}`;
}

function paperLines(r: DayReport): string[] {
  const posture = r.posture_at_start ? `posture ${r.posture_at_start.posture} at 00:00` : 'no posture recorded before the day';
  const changes = r.posture_changes.length === 0 ? 'no change'
    : `${r.posture_changes.length} change(s): ${r.posture_changes.map((c) => `${c.from ?? '(none)'} → ${c.to} at ${hhmm(c.at)}`).join(', ')}`;
  return [
    `  paper     ${r.trades} trades, realized ${signed(r.realized_pnl)}, fees ${money(r.fees)}, max drawdown ${money(r.max_drawdown)} (${r.max_drawdown_pct.toFixed(2)} %)`
      + `${r.capital_end !== null ? `; capital ${r.capital_start === null ? '—' : money(r.capital_start)} → ${money(r.capital_end)}` : ''}`,
    `            ${posture}; ${changes}`,
  ];
}

/**
 * The daily batch: the configured backtest (jobs.daily) of one UTC day (yesterday by default)
 * through the jobs API, and the paper trader's report of that day from its ledger, stored in the
 * jobs database. What a systemd timer (and `dolphin up`'s schedule) runs; runnable by hand.
 */
export async function daily(o: DailyOptions): Promise<number> {
  const date = o.date ?? utcDate(Date.now() - DAY_MS);
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !Number.isFinite(ms) || utcDate(ms) !== date) {
    fail(`--date "${date}" is not a day (YYYY-MM-DD)`);
    return DAILY_EXIT.USAGE;
  }
  const config = loadConfig();
  const { jobs } = config;
  let token: string | undefined;
  try {
    // As the jobs API resolves it: a file, or systemd's credential (LoadCredential=jobs.token).
    token = resolveToken('jobs', jobs.tokenFile, config.env === 'prod');
  } catch (err) {
    fail((err as Error).message);
    return DAILY_EXIT.CONFIG;
  }
  // Loaded here only: the jobs API's modules stay out of every other command's start.
  const { JobsClient, liveDayReport } = await import('@dolphin/jobs-api');
  const client = new JobsClient(`http://${jobs.host}:${jobs.port}`, token);
  say(`dolphin: daily batch for ${date}: backtest ${jobs.daily.configPath} through ${client.url}, then the paper-trading report`);
  const deadline = Date.now() + jobs.daily.timeoutS * 1_000;

  let job: JobStatusView;
  let models: ModelSummaryView[] = [];
  try {
    await client.waitUntilUp(o.waitApiS * 1_000);
    job = await runBacktest(client, jobs.daily.configPath, date, jobs.daily.models, deadline);
    if (job.status !== 'pending' && job.status !== 'running') models = await client.summary(job.job_id);
  } catch (err) {
    fail((err as Error).message);
    return exitFor(err);
  }
  say(backtestLine(job, models));

  let report: DayReport;
  let ledger: string;
  try {
    ({ report, ledger } = liveDayReport(config.stateDir, date));
  } catch (err) {
    fail((err as Error).message);
    return exitFor(err);
  }
  for (const line of paperLines(report)) say(line);
  try {
    const { replaced } = await client.putDailyReport(job.job_id, report);
    say(`  stored    the day report of ${date} (from ${ledger}) in the jobs database${replaced ? ', replacing the earlier one' : ''}: GET ${client.url}/reports/${date}, dolphin jobs`);
  } catch (err) {
    fail((err as Error).message);
    return exitFor(err);
  }

  if (job.status === 'completed') return DAILY_EXIT.OK;
  fail(job.status === 'pending' || job.status === 'running'
    ? `the backtest of ${date} (job ${job.job_id}) was still ${job.status} after jobs.daily.timeoutS (${jobs.daily.timeoutS} s); it goes on in the jobs API`
    : `the backtest of ${date} ${job.status}: ${job.error ?? ''} (GET ${client.url}/simulate/status/${job.job_id} has each model-day's error)`);
  return DAILY_EXIT.JOB_FAILED;
}
