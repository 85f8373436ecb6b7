import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { isDolphinError, isoMicros, type JobsConfig, type Logger } from '@dolphin/core';
import { readBacktestConfig, resolveConfigPath, type BacktestConfig } from './backtest-config.ts';
import { dateSchema, normalizeDates } from './dates.ts';
import { processAlive, type JobRow, type JobsDb, type ReportRow } from './db.ts';
import { dailyReportBodySchema, type DailyReportBody } from './reports.ts';
import type { JobRunner } from './runner.ts';
import { summarize } from './summary.ts';

/** POST /simulate/trigger. */
export const triggerSchema = z.strictObject({
  config_path: z.string().min(1).max(512),
  date_range: z.array(dateSchema).min(1),
  models: z.array(z.string().min(1).max(64)).min(1).optional(),
});

export interface ServerOptions {
  db: JobsDb;
  runner: JobRunner;
  jobs: JobsConfig;
  metrics: Registry;
  logger: Logger;
  /** When given, every POST needs `Authorization: Bearer <token>` (read from jobs.tokenFile or a credential). */
  token?: string | undefined;
}

type Detail = string | Array<{ field: string; message: string }>;
const problem = (reply: FastifyReply, status: number, detail: Detail) => reply.code(status).send({ detail });

/** A job as GET /simulate/status shows it. */
export function jobView(db: JobsDb, job: JobRow) {
  const start = job.started_at ? Date.parse(job.started_at) : undefined;
  const end = job.completed_at ? Date.parse(job.completed_at) : undefined;
  return {
    job_id: job.job_id,
    status: job.status,
    progress: db.progress(job.job_id),
    config_path: job.config_path,
    date_range: JSON.parse(job.date_range) as string[],
    models: JSON.parse(job.models) as string[],
    created_at: job.created_at,
    started_at: job.started_at,
    completed_at: job.completed_at,
    total_duration_seconds: start !== undefined ? Math.round(((end ?? Date.now()) - start) / 10) / 100 : null,
    error: job.error,
    details: db.details(job.job_id),
  };
}

/** Per-model totals of a job (GET /results/summary). */
export function jobSummary(db: JobsDb, job: JobRow) {
  const config = JSON.parse(job.config) as BacktestConfig;
  const models = JSON.parse(job.models) as string[];
  return {
    job_id: job.job_id,
    status: job.status,
    models: models.map((m) => {
      const capital = Number((config.models.find((x) => x.signature === m)?.strategy as { initialCapital?: number } | undefined)?.initialCapital ?? 25_000);
      return summarize(m, capital, db.equityByDay(job.job_id, m), db.results({ jobId: job.job_id, model: m }));
    }),
  };
}

/** A day report as GET /reports lists it: the day's figures and its job's status, not the fills. */
export function reportListItem(db: JobsDb, row: ReportRow) {
  const r = JSON.parse(row.report) as DailyReportBody['report'];
  return {
    date: row.date, kind: row.kind, job_id: row.job_id, job_status: row.job_id ? db.job(row.job_id)?.status ?? null : null,
    trades: r.trades, entries: r.entries, realized_pnl: r.realized_pnl, fees: r.fees, max_drawdown: r.max_drawdown, max_drawdown_pct: r.max_drawdown_pct,
    posture_changes: r.posture_changes.length, created_at: row.created_at, updated_at: row.updated_at,
  };
}

/** A day report in full (GET /reports/:date), with its job as the status endpoint shows it and its per-model summary. */
export function reportView(db: JobsDb, row: ReportRow) {
  const job = row.job_id ? db.job(row.job_id) : undefined;
  return {
    date: row.date, kind: row.kind,
    job: job ? { ...jobView(db, job), summary: jobSummary(db, job).models } : null,
    report: JSON.parse(row.report) as DailyReportBody['report'],
    created_at: row.created_at, updated_at: row.updated_at,
  };
}

const issues = (e: z.ZodError) => e.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));

/**
 * The jobs API (Fastify). POST answers at once: the job runs in the background (JobRunner).
 * Bodies are refused before they are read past `bodyLimitBytes` (413); JSON that does not parse
 * is 400, a body that breaks the schema 422 naming each field; a config outside the configs
 * folder 400 without being read; another active job 409.
 */
export function buildServer(o: ServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: o.jobs.bodyLimitBytes, return503OnClosing: true });
  const token = o.token ? Buffer.from(`Bearer ${o.token}`) : undefined;
  // JSON only: any other body type is 415 rather than a string the schema then refuses.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem(reply, 413, `the body is larger than ${o.jobs.bodyLimitBytes} bytes`);
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) return problem(reply, 400, `the body is not valid JSON: ${err.message}`);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem(reply, 415, 'send the body as application/json');
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return problem(reply, 400, 'the body is empty');
    if (err.statusCode && err.statusCode < 500) return problem(reply, err.statusCode, err.message);
    o.logger.error({ err }, 'request failed');
    return problem(reply, 500, 'internal error (see the jobs-api log)');
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method !== 'POST' || !token) return;
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== token.length || !timingSafeEqual(got, token)) return problem(reply, 401, 'POST needs Authorization: Bearer <the token in jobs.tokenFile>');
  });

  app.post('/simulate/trigger', async (req, reply) => {
    const body = triggerSchema.safeParse(req.body);
    if (!body.success) return problem(reply, 422, body.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
    const { config_path: configPath } = body.data;
    let config: BacktestConfig;
    try {
      config = readBacktestConfig(resolveConfigPath(o.jobs.configsDir, configPath));
    } catch (err) {
      if (isDolphinError(err)) return problem(reply, 400, err.message);
      throw err;
    }
    const dates = normalizeDates(body.data.date_range);
    if (dates.length > o.jobs.maxDates) return problem(reply, 400, `${dates.length} dates: at most ${o.jobs.maxDates} in one job (jobs.maxDates)`);
    const known = new Set(config.models.map((m) => m.signature));
    const models = body.data.models ? [...new Set(body.data.models)] : config.models.filter((m) => m.enabled).map((m) => m.signature);
    const unknown = models.filter((m) => !known.has(m));
    if (unknown.length > 0) return problem(reply, 400, `${configPath} has no model ${unknown.map((m) => `"${m}"`).join(', ')}; it has: ${[...known].join(', ')}`);
    if (models.length === 0) return problem(reply, 400, `${configPath} has no enabled model; name the models to run`);
    const r = o.db.createJob({ configPath, config, dates, models });
    if ('created' in r) {
      const job = r.created;
      o.logger.info({ job_id: job.job_id, config: configPath, dates: dates.length, models }, 'job accepted');
      setImmediate(() => void o.runner.run(job.job_id).catch((err: unknown) => o.logger.error({ err, job_id: job.job_id }, 'job run failed')));
      return reply.code(202).send({ job_id: job.job_id, status: 'pending', total_model_days: job.total_model_days, message: `job accepted: ${dates.length} date(s) × ${models.length} model(s); GET /simulate/status/${job.job_id}` });
    }
    if (r.same) {
      return reply.code(200).send({ ...jobView(o.db, r.active), message: 'a job for the same config, dates and models is already active: this is it' });
    }
    const p = o.db.progress(r.active.job_id);
    // The active job's process died (a killed `dolphin backtest`, say): run it here, so that it
    // ends and never blocks triggers for good.
    let adopted = '';
    if (!o.runner.busy && r.active.owner_pid !== null && !processAlive(r.active.owner_pid)) {
      o.logger.warn({ job_id: r.active.job_id, owner: r.active.owner_pid }, 'the active job\'s process is gone: resuming it here');
      void o.runner.run(r.active.job_id).catch((err: unknown) => o.logger.error({ err, job_id: r.active.job_id }, 'adopted job failed'));
      adopted = '; its process had died, so it is resumed here';
    }
    return problem(reply, 409, `another job is already running: ${r.active.job_id} (${r.active.status}, ${p.completed + p.failed} of ${p.total_model_days} model-days done)${adopted}; one job at a time`);
  });

  app.get('/simulate/status/:job_id', async (req, reply) => {
    const { job_id: id } = req.params as { job_id: string };
    const job = o.db.job(id);
    if (!job) return problem(reply, 404, `no job ${id}`);
    return jobView(o.db, job);
  });

  app.get('/results', async (req, reply) => {
    const q = z.strictObject({ job_id: z.string().optional(), date: dateSchema.optional(), model: z.string().optional() }).safeParse(req.query);
    if (!q.success) return problem(reply, 422, q.error.issues.map((i) => ({ field: i.path.join('.') || '(query)', message: i.message })));
    if (q.data.job_id && !o.db.job(q.data.job_id)) return problem(reply, 404, `no job ${q.data.job_id}`);
    const results = o.db.results({ ...(q.data.job_id ? { jobId: q.data.job_id } : {}), ...(q.data.date ? { date: q.data.date } : {}), ...(q.data.model ? { model: q.data.model } : {}) });
    return { results, count: results.length };
  });

  app.get('/results/summary', async (req, reply) => {
    const { job_id: id } = req.query as { job_id?: string };
    if (!id) return problem(reply, 422, [{ field: 'job_id', message: 'required' }]);
    const job = o.db.job(id);
    if (!job) return problem(reply, 404, `no job ${id}`);
    return jobSummary(o.db, job);
  });

  app.get('/jobs', async () => ({
    jobs: o.db.recentJobs(20).map((j) => ({
      job_id: j.job_id, status: j.status, config_path: j.config_path, date_range: JSON.parse(j.date_range) as string[], models: JSON.parse(j.models) as string[],
      created_at: j.created_at, started_at: j.started_at, completed_at: j.completed_at, error: j.error, progress: o.db.progress(j.job_id),
    })),
  }));

  // Day reports of the daily batch: stored by `dolphin daily` (POST, with the token), read by anyone who may read jobs.
  app.post('/reports/daily', async (req, reply) => {
    const body = dailyReportBodySchema.safeParse(req.body);
    if (!body.success) return problem(reply, 422, issues(body.error));
    const { job_id: jobId, report } = body.data;
    if (jobId !== null && !o.db.job(jobId)) return problem(reply, 422, `no job ${jobId}: job_id names the backtest run for this day (or null)`);
    const { row, replaced } = o.db.putReport({ kind: 'daily', date: report.date, jobId, report });
    o.logger.info({ date: row.date, job_id: jobId, trades: report.trades, replaced }, 'day report stored');
    return reply.code(replaced ? 200 : 201).send({ date: row.date, kind: row.kind, job_id: row.job_id, created_at: row.created_at, updated_at: row.updated_at, replaced });
  });

  app.get('/reports', async (req, reply) => {
    const q = z.strictObject({ limit: z.coerce.number().int().min(1).max(366).default(20) }).safeParse(req.query);
    if (!q.success) return problem(reply, 422, issues(q.error));
    const reports = o.db.recentReports('daily', q.data.limit).map((r) => reportListItem(o.db, r));
    return { reports, count: reports.length };
  });

  app.get('/reports/:date', async (req, reply) => {
    const { date } = req.params as { date: string };
    if (!dateSchema.safeParse(date).success) return problem(reply, 422, [{ field: 'date', message: `"${date.slice(0, 40)}" is not a date (YYYY-MM-DD)` }]);
    const row = o.db.report('daily', date);
    if (!row) return problem(reply, 404, `no report for ${date} (dolphin daily --date ${date} makes one)`);
    return reportView(o.db, row);
  });

  app.get('/health', async (_req, reply) => {
    let database = 'ok';
    try {
      if (!o.db.ping()) database = 'not answering';
    } catch (err) {
      database = `error: ${(err as Error).message}`;
    }
    return reply.code(database === 'ok' ? 200 : 503).send({ status: database === 'ok' ? 'healthy' : 'unhealthy', database, timestamp: isoMicros() });
  });

  app.get('/metrics', async (_req, reply) => reply.type(o.metrics.contentType).send(await o.metrics.metrics()));

  return app;
}
