import { MapNames, metaHealthSchema } from '@dolphin/core';
import { openMap, type TypedMap } from '@dolphin/hz';
import { every, runService } from '@dolphin/service-kit';
import { effectiveRegistry } from '@dolphin/supervisor';
import { MetaHealthDaemon, META_HEALTH_HISTORY } from './daemon.ts';
import { createMetaHealthMetrics } from './metrics.ts';
import { Observer } from './observe.ts';
import { memberHealthUrl, viewFor } from './view-for.ts';

await runService({
  name: 'meta-health',
  // It must run without the cluster: it writes meta_health.json and restarts a member that does not answer.
  hazelcast: 'background',
  async start(ctx) {
    const { config } = ctx;
    const registry = effectiveRegistry(config, { ownMember: true });
    const view = viewFor(config, registry, ctx.logger);
    const observer = new Observer({
      view, hz: ctx.hz, probeTimeoutMs: config.metaHealth.probeTimeoutMs,
      // This host's member, at the address it binds (a cluster host's own, not 127.0.0.1).
      memberHealthUrl: memberHealthUrl(config.member),
      maxClockSkewMs: config.security.maxClockSkewMs,
    });
    let latest: TypedMap<ReturnType<typeof metaHealthSchema.parse>> | undefined;
    const daemon = new MetaHealthDaemon({
      cfg: config.metaHealth, stateDir: config.stateDir, observer, view, logger: ctx.logger,
      metrics: createMetaHealthMetrics(ctx.metrics),
      latest: async () => (latest ??= await openMap(ctx.hz, MapNames.META_HEALTH, metaHealthSchema)),
      history: () => ctx.hz.client.getRingbuffer<string>(META_HEALTH_HISTORY),
    });
    ctx.registerState('health', { capture: () => daemon.restartState, restore: (v) => daemon.restoreState(v) });
    ctx.logger.info({ via: view.kind, cycleMs: config.metaHealth.cycleMs }, 'meta-health watching');
    const loop = every(config.metaHealth.cycleMs, ctx.signal, async () => {
      try {
        await daemon.cycle();
      } catch (err) {
        ctx.logger.error({ err }, 'health cycle failed; the next one tries again');
      }
    });
    ctx.register('health-cycle', () => loop);
  },
});
