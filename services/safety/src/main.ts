import path from 'node:path';
import { z } from 'zod';
import { CoreErrors, exfSchema, featureScanSchema, formatIssues, isoMicros, Keys, makeError, MapNames, safetySchema, traderStateSchema } from '@dolphin/core';
import { openMap, watchMap } from '@dolphin/hz';
import { every, runService } from '@dolphin/service-kit';
import { MemoryFile } from './memory-file.ts';
import { safetyParamsSchema } from './posture.ts';
import { SafetyService } from './service.ts';


/** The service's own timing; every other key of `safety` is a posture parameter (docs/safety.md). */
const timingSchema = z.strictObject({
  everyMs: z.number().int().min(50).default(1_000),
  publishEveryMs: z.number().int().min(100).default(10_000),
});

await runService({
  name: 'safety',
  async start(ctx) {
    const { everyMs, publishEveryMs, ...rest } = ctx.config.safety;
    const timing = timingSchema.safeParse({ everyMs, publishEveryMs });
    const params = safetyParamsSchema.safeParse(rest);
    const issues = [...(timing.success ? [] : timing.error.issues), ...(params.success ? [] : params.error.issues)];
    if (!timing.success || !params.success) {
      throw makeError(CoreErrors.DOLPHIN_CONFIG_INVALID, `invalid configuration:\n  - ${formatIssues(issues).map((l) => `safety.${l}`).join('\n  - ')}`);
    }
    const memoryFile = new MemoryFile(ctx.config.stateDir);
    const safetyMap = await openMap(ctx.hz, MapNames.SAFETY, safetySchema);
    const memory = memoryFile.load(ctx.logger);
    const service = new SafetyService({
      params: params.data, publishEveryMs: timing.data.publishEveryMs, logger: ctx.logger,
      write: (v) => safetyMap.set(Keys.SAFETY_LATEST, v), saveMemory: (m) => memoryFile.save(m),
      ...(memory ? { memory } : {}),
    });
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
