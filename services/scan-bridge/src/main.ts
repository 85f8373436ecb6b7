import path from 'node:path';
import { featureScanSchema, Keys, MapNames } from '@dolphin/core';
import { openMap } from '@dolphin/hz';
import { runService } from '@dolphin/service-kit';
import { ScanBridge } from './bridge.ts';
import { createBridgeMetrics } from './metrics.ts';
import { HistoryAppender, HISTORY_RINGBUFFER, reconcileHistory } from './history.ts';
import type { Position } from './scan-order.ts';

await runService({
  name: 'scan-bridge',
  async start(ctx) {
    const { scans, bridge: cfg, stateDir } = ctx.config;
    const features = await openMap(ctx.hz, MapNames.FEATURES, featureScanSchema);
    const history = await ctx.hz.client.getRingbuffer<string>(HISTORY_RINGBUFFER);
    const appender = new HistoryAppender(history, ctx.logger);
    const bridge = new ScanBridge({
      scanDir: scans.dir,
      quarantineDir: cfg.quarantineDir ?? path.join(scans.dir, '_quarantine'),
      stateDir,
      settleMs: cfg.settleMs,
      catchUpMax: cfg.catchUpMax,
      source: cfg.source,
      logger: ctx.logger,
      metrics: createBridgeMetrics(ctx.metrics),
      publish: (text) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, text),
      appendHistory: (text) => appender.append(text),
      flushHistory: () => appender.flush(),
      readPublished: async () => {
        const latest = await features.get(Keys.LATEST_EIGEN_SCAN);
        // The history is best effort: its trouble must not cost the bridge the map's position.
        await reconcileHistory(history, latest, ctx.logger).catch((err: unknown) => ctx.logger.warn({ err }, 'could not reconcile the scan history'));
        return latest;
      },
    });
    ctx.registerState<Position | undefined>('position', { capture: () => bridge.lastPosition, restore: (p) => bridge.restorePosition(p) });
    ctx.register('bridge', () => bridge.stop());
    await bridge.start();
    ctx.logger.info({ scanDir: scans.dir }, 'scan bridge watching');
  },
});
