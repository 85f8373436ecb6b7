import { assetObEntrySchema, esofSchema, exfSchema, INDICATOR_PUBLISHERS, Keys, MapNames, obFeaturesSchema, type IndicatorPublisher, type IndicatorsConfig } from '@dolphin/core';
import { openMap } from '@dolphin/hz';
import type { ServiceContext } from '@dolphin/service-kit';
import { runEsofPublisher } from './esof-publisher.ts';
import { EXF_FIELDS, ExfPublisher, type ExfField } from './exf-publisher.ts';
import { createIndicatorMetrics } from './metrics.ts';
import { ObPublisher } from './ob-publisher.ts';
import { bookProviders, numberProvider } from './providers/from-spec.ts';
import type { Provider } from './providers/provider.ts';
import { ResilientSource } from './resilience/resilient-source.ts';

export const PUBLISHERS = INDICATOR_PUBLISHERS;
export type PublisherName = IndicatorPublisher;

/** `--only exf,ob` → those publishers; no flag → all of them. A wrong name is refused by name. */
export function publishersFromArgv(argv: readonly string[]): PublisherName[] {
  const i = argv.indexOf('--only');
  if (i < 0) return [...PUBLISHERS];
  const names = (argv[i + 1] ?? '').split(',').filter(Boolean);
  const bad = names.filter((n) => !(PUBLISHERS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) throw new Error(`--only: unknown publisher "${bad.join(',')}"; choose from ${PUBLISHERS.join(', ')}`);
  return names as PublisherName[];
}

/** Starts the chosen publishers in this process; each ends with the service's stop signal. */
export async function startPublishers(ctx: ServiceContext, which: readonly PublisherName[]): Promise<Array<Promise<void>>> {
  const cfg: IndicatorsConfig = ctx.config.indicators;
  const metrics = createIndicatorMetrics(ctx.metrics);
  const resilient = <T>(p: Provider<T>) => new ResilientSource(p, {
    timeoutMs: cfg.fetch.timeoutMs, attempts: cfg.fetch.attempts, backoff: cfg.fetch.backoff, breaker: cfg.fetch.breaker,
  });
  const runs: Array<Promise<void>> = [];
  if (which.includes('exf')) {
    const exfMap = await openMap(ctx.hz, MapNames.FEATURES, exfSchema);
    const sources = Object.fromEntries(EXF_FIELDS.map((f) => [f, { source: resilient(numberProvider(f, cfg[f].provider)), everyMs: cfg[f].everyMs }])) as
      Record<ExfField, { source: ResilientSource<number>; everyMs: number }>;
    const exf = new ExfPublisher({ sources, write: (v) => exfMap.set(Keys.EXF_LATEST, v), publishEveryMs: cfg.exfPublishMs, timeoutMs: cfg.fetch.timeoutMs, logger: ctx.logger, metrics });
    runs.push(exf.run(ctx.signal));
  }
  if (which.includes('ob')) {
    const obMap = await openMap(ctx.hz, MapNames.FEATURES, obFeaturesSchema);
    const assetMap = await openMap(ctx.hz, MapNames.FEATURES, assetObEntrySchema);
    const books = bookProviders(cfg.ob.provider);
    const ob = new ObPublisher({
      sources: new Map(cfg.ob.symbols.map((s) => [s, resilient(books(s))])), everyMs: cfg.ob.everyMs, timeoutMs: cfg.fetch.timeoutMs,
      writeAll: (v) => obMap.set(Keys.OB_FEATURES_LATEST, v), writeAsset: (s, v) => assetMap.set(`asset_${s}_ob`, v), logger: ctx.logger, metrics,
    });
    runs.push(ob.run(ctx.signal));
  }
  if (which.includes('esof')) {
    const esofMap = await openMap(ctx.hz, MapNames.FEATURES, esofSchema);
    runs.push(runEsofPublisher({ everyMs: cfg.esof.everyMs, write: (v) => esofMap.set(Keys.ESOF_LATEST, v), logger: ctx.logger, metrics }, ctx.signal));
  }
  return runs;
}
