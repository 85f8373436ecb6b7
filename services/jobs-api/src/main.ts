import path from 'node:path';
import { resolveToken } from '@dolphin/core';
import { liveLedgerFile } from '@dolphin/ledger';
import { runService } from '@dolphin/service-kit';
import { JobsDb, processAlive } from './db.ts';
import { createJobsMetrics } from './metrics.ts';
import { WorkerPool } from './pool.ts';
import { JobRunner } from './runner.ts';
import { buildServer } from './server.ts';

await runService({
  name: 'jobs-api',
  // Backtests need no cluster; the heartbeat is written once there is one.
  hazelcast: 'background',
  async start(ctx) {
    const { jobs, stateDir, scans } = ctx.config;
    // From a file or a systemd credential only; production will not run without it.
    const token = resolveToken('jobs', jobs.tokenFile, ctx.config.env === 'prod');
    const db = new JobsDb(jobs.dbFile ?? path.join(stateDir, 'jobs.db'));
    ctx.register('database', () => db.close());
    const pool = new WorkerPool(jobs.workers);
    ctx.register('workers', () => pool.close());
    const runner = new JobRunner({ db, pool, logger: ctx.logger, metrics: createJobsMetrics(ctx.metrics, db), defaultScansDir: scans.dir, cacheDir: path.join(stateDir, 'scan-cache'), liveLedger: liveLedgerFile(stateDir) });
    ctx.register('runner', () => runner.stop());
    const app = buildServer({ db, runner, jobs, metrics: ctx.metrics, logger: ctx.logger, token });
    await app.listen({ host: jobs.host, port: jobs.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : jobs.port;
    ctx.register('http', () => app.close());
    ctx.logger.info({ url: `http://${jobs.host}:${port}`, db: db.file, workers: pool.size, configs: jobs.configsDir, auth: token ? 'bearer token on POST' : 'none' }, 'jobs API listening');
    process.send?.({ type: 'listening', port, url: `http://${jobs.host}:${port}/` });
    // A job a killed process left behind goes on from where it was (not one another live process runs).
    for (const job of db.unfinished().filter((j) => j.owner_pid === null || !processAlive(j.owner_pid))) {
      ctx.logger.warn({ job_id: job.job_id, status: job.status }, 'resuming an unfinished job');
      void runner.run(job.job_id).catch((err: unknown) => ctx.logger.error({ err, job_id: job.job_id }, 'resumed job failed'));
    }
  },
});
