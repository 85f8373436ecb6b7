import path from 'node:path';
import { featureScanSchema, Keys, MapNames } from '@dolphin/core';
import { openMap } from '@dolphin/hz';
import { runService } from '@dolphin/service-kit';
import { ScanBridge } from './bridge.ts';
import { createBridgeMetrics } from './metrics.ts';
import { HistoryAppender, HISTORY_RINGBUFFER, historyTail } from './history.ts';
import type { Position } from './scan-order.ts';

await runService({
  name: 'scan-bridge',
  async start(ctx) {
    const { scans, bridge: cfg, stateDir, security } = ctx.config;
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
      maxScanBytes: cfg.maxScanBytes,
      maxClockSkewMs: security.maxClockSkewMs,
      burstQuietMs: cfg.burstQuietMs,
      burstMaxMs: cfg.burstMaxMs,
      logger: ctx.logger,
      metrics: createBridgeMetrics(ctx.metrics),
      // Sealed once for the map's place; the history carries the same text.
      seal: (text) => features.sealEncoded(Keys.LATEST_EIGEN_SCAN, text),
      publish: (text) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, text),
      appendHistory: (text) => appender.append(text),
      flushHistory: () => appender.flush(),
      // Asked only whether the put in flight at the last stop landed; a value not sealed by
      // Dolphin is refused by the map and counts as no evidence.
      readPublished: () => features.get(Keys.LATEST_EIGEN_SCAN),
      historyTail: () => historyTail(history),
    });
    ctx.registerState<Position | undefined>('position', { capture: () => bridge.lastPosition, restore: (p) => bridge.restorePosition(p) });
    ctx.register('bridge', () => bridge.stop());
    await bridge.start();
    ctx.logger.info({ scanDir: scans.dir }, 'scan bridge watching');
  },
});
