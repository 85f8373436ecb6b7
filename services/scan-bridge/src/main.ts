import path from 'node:path';
import { featureScanSchema, Keys, MapNames } from '@dolphin/core';
import { Leadership, openMap } from '@dolphin/hz';
import { runService } from '@dolphin/service-kit';
import { ScanBridge } from './bridge.ts';
import { createBridgeMetrics } from './metrics.ts';
import { HistoryAppender, HISTORY_RINGBUFFER, historyTail } from './history.ts';
import { positionOfPublished, type Position } from './scan-order.ts';

await runService({
  name: 'scan-bridge',
  async start(ctx) {
    const { scans, bridge: cfg, stateDir, security } = ctx.config;
    const features = await openMap(ctx.hz, MapNames.FEATURES, featureScanSchema);
    const history = await ctx.hz.client.getRingbuffer<string>(HISTORY_RINGBUFFER);
    const appender = new HistoryAppender(history, ctx.logger);
    let leadership: Leadership | undefined;
    const makeBridge = () => new ScanBridge({
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
      metrics,
      // Sealed once for the map's place; the history carries the same text.
      seal: (text) => features.sealEncoded(Keys.LATEST_EIGEN_SCAN, text),
      // A standby publishes only while it leads (fenced right before the put; refused, the put is retried until demoted).
      publish: (text) => {
        leadership?.fence();
        return features.setEncoded(Keys.LATEST_EIGEN_SCAN, text);
      },
      appendHistory: (text) => appender.append(text),
      flushHistory: () => appender.flush(),
      // Asked only whether the put in flight at the last stop landed; a value not sealed by
      // Dolphin is refused by the map and counts as no evidence.
      readPublished: () => features.get(Keys.LATEST_EIGEN_SCAN),
      historyTail: () => historyTail(history),
    });
    const metrics = createBridgeMetrics(ctx.metrics);
    let bridge: ScanBridge | undefined;
    if (!cfg.standby) {
      bridge = makeBridge();
    } else {
      // A hot standby: elected, it goes on from the newest published scan (sealed: Dolphin's own
      // bridges wrote it), or this host's own position when that is later.
      let turns = Promise.resolve();
      const turn = (work: () => Promise<void>) => {
        turns = turns.then(work).catch((err: unknown) => ctx.logger.error({ err }, 'leadership change could not be carried out'));
      };
      leadership = new Leadership(ctx.hz, {
        role: 'scan-bridge', ttlMs: cfg.leaseTtlMs, logger: ctx.logger,
        onElected: (epoch) => turn(async () => {
          const b = makeBridge();
          const published = await features.get(Keys.LATEST_EIGEN_SCAN).catch(() => undefined);
          if (published) b.restorePosition(positionOfPublished(published));
          ctx.logger.info({ epoch, from: published?.file }, `elected: publishing scans (epoch ${epoch}) after ${published ? published.file : 'nothing published yet'}`);
          bridge = b;
          await b.start();
        }),
        onDemoted: (reason, epoch) => turn(async () => {
          ctx.logger.warn({ epoch, reason }, `no longer the leader (${reason}): standing by`);
          await bridge?.stop();
          bridge = undefined;
        }),
      });
    }
    ctx.registerState<Position | undefined>('position', { capture: () => bridge?.lastPosition, restore: (p) => bridge?.restorePosition(p) });
    if (leadership) {
      const l = leadership;
      await l.start();
      ctx.register('leadership', () => l.stop());
    }
    // Stop publishing first; then (a standby's) lease is released for the next to take over at once.
    ctx.register('bridge', async () => {
      await bridge?.stop();
    });
    if (!cfg.standby) await (bridge as ScanBridge).start();
    ctx.logger.info({ scanDir: scans.dir, standby: cfg.standby }, cfg.standby ? 'scan bridge standing by for the lease' : 'scan bridge watching');
  },
});
