import type { Logger } from '@dolphin/core';
import { parseBacktestConfig, type BacktestConfig } from './backtest-config.ts';
import type { JobsDb, JobStatus } from './db.ts';
import type { JobsMetrics } from './metrics.ts';
import type { ModelDayTask } from './model-day-task.ts';
import type { WorkerPool } from './pool.ts';

export interface RunnerOptions {
  db: JobsDb;
  pool: WorkerPool;
  logger: Logger;
  metrics?: JobsMetrics;
  /** Each model-day as it ends (progress bars, tests). */
  onModelDay?(e: { jobId: string; date: string; model: string; ok: boolean; error?: string; durationS: number }): void;
  /** The default archive when a config names none (the live scan folder). */
  defaultScansDir: string;
  /** Decoded days kept between backtests (see loadDayScans). */
  cacheDir?: string;
  /** This install's live trader's ledger, for configs whose inputs are `{"live": true}`. */
  liveLedger?: string;
}

/**
 * Runs a job: dates one after another, the models of a date side by side in the worker pool,
 * each model's day starting from where its previous day ended. A failed model-day fails alone
 * (and the later days of that model, which have nothing to start from); the others go on. The
 * job is running from its first model-day, then completed, partial or failed. Run again on a
 * job a killed process left behind, it does only what is not yet completed.
 */
export class JobRunner {
  private readonly o: RunnerOptions;
  private current: Promise<JobStatus> | undefined;
  private stopping = false;

  constructor(options: RunnerOptions) {
    this.o = options;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  run(jobId: string): Promise<JobStatus> {
    const run = this.execute(jobId).finally(() => { if (this.current === run) this.current = undefined; });
    this.current = run;
    return run;
  }

  /** Resolves when the job in progress (if any) has ended. */
  async idle(): Promise<void> {
    await this.current?.catch(() => undefined);
  }

  /**
   * Stops at once: model-days in flight are dropped, not recorded (they stay running, and a
   * later start runs them again), the job stays unfinished until then.
   */
  stop(): void {
    this.stopping = true;
  }

  private async execute(jobId: string): Promise<JobStatus> {
    const { db } = this.o;
    const job = db.job(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    const log = this.o.logger.child({ job_id: jobId });
    if (!db.claim(jobId)) {
      log.info({ owner: db.job(jobId)?.owner_pid }, 'job runs in another process; not run here');
      return job.status;
    }
    const reset = db.resetInterrupted(jobId);
    if (reset > 0) log.warn({ modelDays: reset }, 'resuming a job left running: its unfinished model-days run again');
    let config: BacktestConfig;
    try {
      config = parseBacktestConfig(JSON.parse(job.config), job.config_path);
    } catch (err) {
      db.failJob(jobId, (err as Error).message);
      log.error({ err }, 'job cannot run: its config is unreadable');
      return 'failed';
    }
    const dates = JSON.parse(job.date_range) as string[];
    const models = JSON.parse(job.models) as string[];
    const specs = new Map(config.models.map((m) => [m.signature, m]));
    const t0 = performance.now();
    log.info({ dates: dates.length, models, config: job.config_path }, 'job started');
    for (const [i, date] of dates.entries()) {
      if (this.stopping) return 'running';
      const pending = new Set(db.details(jobId).filter((d) => d.date === date && d.status === 'pending').map((d) => d.model));
      await Promise.all(models.filter((m) => pending.has(m)).map((model) => this.modelDay(jobId, config, specs.get(model), model, date, dates[i - 1])));
    }
    if (this.stopping) return 'running';
    const status = db.finishJob(jobId);
    const seconds = (performance.now() - t0) / 1000;
    this.o.metrics?.jobDone(status, seconds);
    log.info({ status, seconds: Math.round(seconds * 100) / 100, progress: db.progress(jobId) }, `job ${status}`);
    return status;
  }

  private async modelDay(jobId: string, config: BacktestConfig, spec: BacktestConfig['models'][number] | undefined, model: string, date: string, previousDate: string | undefined): Promise<void> {
    const { db } = this.o;
    if (this.stopping) return;
    const log = this.o.logger.child({ job_id: jobId, model, date });
    const t0 = performance.now();
    db.startDetail(jobId, date, model);
    const fail = (error: string) => {
      const durationS = (performance.now() - t0) / 1000;
      db.failDetail(jobId, date, model, error, durationS);
      this.o.metrics?.modelDayDone('failed', durationS);
      this.o.onModelDay?.({ jobId, date, model, ok: false, error, durationS });
      log.warn({ error }, 'model-day failed');
    };
    if (!spec) return fail(`model ${model} is not in the job's config`);
    const inputsLedger = config.inputs && 'ledger' in config.inputs ? config.inputs.ledger : config.inputs ? this.o.liveLedger : undefined;
    if (config.inputs && inputsLedger === undefined) return fail('inputs.live: this runner was not told where the live trader\'s ledger is; run the job through the jobs API, or name the ledger (inputs.ledger)');
    let startState;
    if (previousDate !== undefined) {
      startState = db.endState(jobId, model, previousDate);
      if (!startState) return fail(`the day before (${previousDate}) of ${model} did not complete: nothing to start this day from`);
    }
    const task: ModelDayTask = {
      date, model, strategy: spec.strategy, scansDir: config.scans ?? this.o.defaultScansDir,
      ...(this.o.cacheDir ? { cacheDir: this.o.cacheDir } : {}),
      ...(inputsLedger ? { inputsLedger } : {}),
      ...(config.indicators ? { indicatorsDir: config.indicators } : {}),
      ...(startState ? { startState } : {}),
    };
    const { outcome } = await this.o.pool.run(task);
    if (this.stopping) return; // not written: it runs again when the job resumes
    if (!outcome.ok) return fail(outcome.error);
    const durationS = (performance.now() - t0) / 1000;
    db.completeDetail(jobId, date, model, outcome.result, durationS);
    this.o.metrics?.modelDayDone('completed', durationS);
    this.o.onModelDay?.({ jobId, date, model, ok: true, durationS });
    log.info({ ...outcome.stats, seconds: Math.round(durationS * 1000) / 1000 }, 'model-day completed');
  }
}
