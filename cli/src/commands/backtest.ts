import { existsSync } from 'node:fs';
import path from 'node:path';
import { createLogger, loadConfig } from '@dolphin/core';
import { liveLedgerFile } from '@dolphin/ledger';
import { JobRunner, JobsDb, jobSummary, parseDateSpec, readBacktestConfig, resolveConfigPath, WorkerPool } from '@dolphin/jobs-api';

export interface BacktestOptions {
  config: string;
  dates: string;
  models?: string;
  json: boolean;
}

const pct = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}%`);

/**
 * `dolphin backtest`: the jobs API's worker without its server, into the same database (one job
 * at a time holds across both), with a progress bar and a summary table.
 */
export async function backtest(o: BacktestOptions): Promise<number> {
  const config = loadConfig();
  // The progress lines say each model-day's outcome; the log adds only errors.
  const logger = createLogger({ service: 'backtest', level: 'error', pretty: 'never' });
  // A path as given (the operator's), or a name in the configs folder (as the API takes it).
  const file = existsSync(o.config) ? path.resolve(o.config) : resolveConfigPath(config.jobs.configsDir, o.config);
  const bt = readBacktestConfig(file);
  let dates: string[];
  try {
    dates = parseDateSpec(o.dates);
  } catch (err) {
    console.error(`dolphin: --dates ${(err as Error).message}`);
    return 2;
  }
  const known = bt.models.map((m) => m.signature);
  const models = o.models ? o.models.split(',').map((m) => m.trim()).filter(Boolean) : bt.models.filter((m) => m.enabled).map((m) => m.signature);
  const unknown = models.filter((m) => !known.includes(m));
  if (unknown.length > 0 || models.length === 0) {
    console.error(`dolphin: ${unknown.length ? `no model ${unknown.join(', ')} in ${file}` : 'no model to run'}; it has: ${known.join(', ')}`);
    return 2;
  }
  const db = new JobsDb(config.jobs.dbFile ?? path.join(config.stateDir, 'jobs.db'));
  const created = db.createJob({ configPath: file, config: bt, dates, models });
  if (!('created' in created)) {
    console.error(`dolphin: another job is already running: ${created.active.job_id} (${created.active.status}); one job at a time`);
    db.close();
    return 1;
  }
  const job = created.created;
  const total = job.total_model_days;
  let done = 0;
  let failed = 0;
  const tty = process.stdout.isTTY === true;
  const pool = new WorkerPool(config.jobs.workers);
  const runner = new JobRunner({
    db, pool, logger, defaultScansDir: config.scans.dir, cacheDir: path.join(config.stateDir, 'scan-cache'),
    // A config with inputs.live decides with the postures this install's trader recorded, as the jobs API does.
    liveLedger: liveLedgerFile(config.stateDir),
    onModelDay: (e) => {
      done++;
      if (!e.ok) failed++;
      if (o.json) return;
      const width = 30;
      const bar = '#'.repeat(Math.round((done / total) * width)).padEnd(width, '-');
      const line = `[${bar}] ${done}/${total} model-days${failed ? ` (${failed} failed)` : ''}  ${e.date} ${e.model} ${e.ok ? `${e.durationS.toFixed(2)} s` : `FAILED: ${e.error}`}`;
      if (tty) process.stdout.write(`\r${line.padEnd(100)}${done === total ? '\n' : ''}`);
      else console.log(line);
    },
  });
  if (!o.json) console.log(`dolphin: job ${job.job_id}: ${dates.length} date(s) × ${models.length} model(s) = ${total} model-days, ${pool.size} worker thread(s)`);
  const t0 = performance.now();
  const status = await runner.run(job.job_id);
  await pool.close();
  const summary = jobSummary(db, db.job(job.job_id)!);
  db.close();
  if (o.json) {
    console.log(JSON.stringify({ job_id: job.job_id, status, seconds: (performance.now() - t0) / 1000, summary: summary.models }, null, 2));
    return status === 'completed' ? 0 : 1;
  }
  const rows = [['model', 'days', 'return', 'max drawdown', 'sharpe', 'trades', 'win rate', 'fees', 'final equity']];
  for (const m of summary.models) {
    rows.push([m.model, String(m.days), pct(m.return_pct), `${m.max_drawdown_pct.toFixed(2)}%`, m.sharpe === null ? '—' : m.sharpe.toFixed(2), String(m.trades),
      m.win_rate === null ? '—' : `${(m.win_rate * 100).toFixed(0)}%`, m.fees.toFixed(2), m.final_equity === null ? '—' : m.final_equity.toFixed(2)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  console.log(`dolphin: job ${job.job_id} ${status} in ${((performance.now() - t0) / 1000).toFixed(1)} s${failed ? `; ${failed} model-day(s) failed (see GET /simulate/status/${job.job_id})` : ''}`);
  for (const r of rows) console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')}`);
  return status === 'completed' ? 0 : 1;
}
