import path from 'node:path';
import { z } from 'zod';
import { CoreErrors, exfSchema, featureScanSchema, formatIssues, isoMicros, Keys, makeError, MapNames, safetySchema, traderStateSchema } from '@dolphin/core';
import { Leadership, openMap, watchMap } from '@dolphin/hz';
import { every, runService } from '@dolphin/service-kit';
import { MemoryFile } from './memory-file.ts';
import { safetyParamsSchema } from './posture.ts';
import { SafetyService } from './service.ts';


/** The service's own timing; every other key of `safety` is a posture parameter (docs/safety.md). */
const timingSchema = z.strictObject({
  everyMs: z.number().int().min(50).default(1_000),
  publishEveryMs: z.number().int().min(100).default(10_000),
  /** A hot standby: evaluates all the time, publishes only while it holds the safety lease. */
  standby: z.boolean().default(false),
  leaseTtlMs: z.number().int().min(300).default(3_000),
});

await runService({
  name: 'safety',
  async start(ctx) {
    const { everyMs, publishEveryMs, standby, leaseTtlMs, ...rest } = ctx.config.safety;
    const timing = timingSchema.safeParse({ everyMs, publishEveryMs, standby, leaseTtlMs });
    const params = safetyParamsSchema.safeParse(rest);
    const issues = [...(timing.success ? [] : timing.error.issues), ...(params.success ? [] : params.error.issues)];
    if (!timing.success || !params.success) {
      throw makeError(CoreErrors.DOLPHIN_CONFIG_INVALID, `invalid configuration:\n  - ${formatIssues(issues).map((l) => `safety.${l}`).join('\n  - ')}`);
    }
    const memoryFile = new MemoryFile(ctx.config.stateDir);
    const safetyMap = await openMap(ctx.hz, MapNames.SAFETY, safetySchema);
    const memory = memoryFile.load(ctx.logger);
    // A standby evaluates like the active one (its posture is ready the moment it leads) and
    // writes nothing until it holds the lease; each write is fenced.
    let leadership: Leadership | undefined;
    const service = new SafetyService({
      params: params.data, publishEveryMs: timing.data.publishEveryMs, logger: ctx.logger,
      write: async (v) => {
        if (leadership && !leadership.isLeader()) return;
        leadership?.fence();
        await safetyMap.set(Keys.SAFETY_LATEST, v);
      },
      saveMemory: (m) => memoryFile.save(m),
      ...(memory ? { memory } : {}),
    });
    if (timing.data.standby) {
      leadership = new Leadership(ctx.hz, {
        role: 'safety', ttlMs: timing.data.leaseTtlMs, logger: ctx.logger,
        onElected: (epoch) => {
          ctx.logger.info({ epoch }, `elected: publishing the posture (epoch ${epoch})`);
          void service.publishNow();
        },
        onDemoted: (reason, epoch) => ctx.logger.warn({ epoch, reason }, `no longer the leader (${reason}): evaluating, not publishing`),
      });
      const l = leadership;
      await l.start();
      ctx.register('leadership', () => l.stop());
    }
    const exfWatch = watchMap(ctx.hz, await openMap(ctx.hz, MapNames.FEATURES, exfSchema), { key: Keys.EXF_LATEST, onUpdate: (u) => { service.setExf(u.value); void service.tick(); } });
    const stateWatch = watchMap(ctx.hz, await openMap(ctx.hz, MapNames.STATE_BLUE, traderStateSchema), { key: Keys.STATE_LATEST, onUpdate: (u) => service.setState(u.value) });
    // Scan freshness needs only the time of each scan, not its 2 KB: a listener without values
    // keeps the trading path's member work unchanged; the current value is read once at start.
    const features = await openMap(ctx.hz, MapNames.FEATURES, featureScanSchema);
    const latest = await features.get(Keys.LATEST_EIGEN_SCAN).catch(() => undefined);
    if (latest) service.setScanBridgeTs(latest.bridge_ts);
    const onScan = () => service.setScanBridgeTs(isoMicros());
    const scanListener = await features.raw.addEntryListener({ added: onScan, updated: onScan }, Keys.LATEST_EIGEN_SCAN, false);
    await Promise.all([exfWatch.ready, stateWatch.ready]);
    const loop = every(timing.data.everyMs, ctx.signal, () => service.tick());
    ctx.register('posture loop', () => loop);
    ctx.register('listeners', async () => {
      await features.raw.removeEntryListener(scanListener).catch(() => undefined);
      await Promise.all([exfWatch.close(), stateWatch.close()]);
    });
  },
});
