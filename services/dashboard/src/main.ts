import path from 'node:path';
import { resolveToken } from '@dolphin/core';
import { REPO_ROOT } from '@dolphin/hz';
import { runService } from '@dolphin/service-kit';
import { strategyParams } from '@dolphin/strategy';
import { buildAssets } from './assets.ts';
import { DashboardFeed } from './feed.ts';
import { createDashboardMetrics } from './metrics.ts';
import { DashboardModel } from './model.ts';
import { createDashboardServer } from './server.ts';
import { SseHub } from './sse.ts';

/** How often the changes of the model go out to the browsers (coalesced: 100 scans/s are 5 frames/s). */
const FLUSH_MS = 200;

await runService({
  name: 'dashboard',
  // It shows that the cluster is gone, so it must run without it.
  hazelcast: 'background',
  async start(ctx) {
    const { dashboard, jobs, hazelcast } = ctx.config;
    // From a file or a systemd credential only; production will not run without it.
    const token = resolveToken('dashboard', dashboard.tokenFile, ctx.config.env === 'prod');
    const assets = buildAssets();
    const model = new DashboardModel({ history: dashboard.historyScans, members: hazelcast.members, velDivThreshold: strategyParams(ctx.config.trader.strategy).velDivThreshold });
    const hub: SseHub = new SseHub({ maxBufferedBytes: dashboard.maxBufferedBytes, maxClients: dashboard.maxClients, onDrop: (why) => metrics.dropped.inc({ why }) });
    const metrics = createDashboardMetrics(ctx.metrics, () => hub.size);
    ctx.register('streams', () => hub.close());
    const feed = new DashboardFeed({
      conn: ctx.hz, model, logger: ctx.logger, signal: ctx.signal, pollMs: dashboard.pollMs,
      runFile: process.env.DOLPHIN_SUPERVISOR_RUN_FILE ?? path.join(REPO_ROOT, '.dolphin/run/supervisor.json'),
      jobsUrl: (dashboard.jobsUrl ?? `http://${jobs.host}:${jobs.port}`).replace(/\/$/, ''),
    });
    feed.start();
    ctx.register('feed', () => feed.close());
    const flush = setInterval(() => {
      for (const patch of model.takePatches()) hub.broadcast('patch', patch);
    }, FLUSH_MS);
    ctx.register('flush', () => clearInterval(flush));

    const server = createDashboardServer({ assets, model, hub, token, logger: ctx.logger });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(dashboard.port, dashboard.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : dashboard.port;
    ctx.register('http', () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const url = `http://${dashboard.host}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    ctx.logger.info({ url: `http://${dashboard.host}:${port}/`, auth: token ? 'token' : 'none', assets: [...assets.keys()] }, 'dashboard listening');
    process.send?.({ type: 'listening', port, url });
  },
});
