import { assetObSchema, type AssetOb, type AssetObEntry, type Logger, type ObFeatures } from '@dolphin/core';
import { isoOfMs, pushedAtMs, type Tracked } from './freshness.ts';
import type { IndicatorMetrics } from './metrics.ts';
import { obFeatures } from './ob-features.ts';
import type { OrderBook } from './providers/provider.ts';
import { refreshTracked } from './refresher.ts';
import type { ResilientSource } from './resilience/resilient-source.ts';
import { every } from '@dolphin/service-kit';

export interface ObPublisherOptions {
  /** One source per symbol, so one broken book opens only its own breaker. */
  sources: Map<string, ResilientSource<OrderBook>>;
  everyMs: number;
  timeoutMs: number;
  writeAll(value: ObFeatures): Promise<void>;
  writeAsset(symbol: string, value: AssetObEntry): Promise<void>;
  logger: Logger;
  metrics: IndicatorMetrics;
  now?: () => number;
}

/**
 * Order-book features: every `everyMs` each symbol's book is fetched (all at once), its
 * features written to asset_<SYMBOL>_ob when it refreshed, and ob_features_latest written with
 * every symbol that has a value; its `_pushed_at` ages with the stalest symbol.
 */
export class ObPublisher {
  private readonly o: ObPublisherOptions;
  private readonly now: () => number;
  private readonly tracked = new Map<string, Tracked<AssetOb>>();
  private startedMs = 0;

  constructor(o: ObPublisherOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    for (const s of o.sources.keys()) this.tracked.set(s, { value: null, everyMs: o.everyMs });
  }

  record(): ObFeatures {
    const out: Record<string, unknown> = { _pushed_at: isoOfMs(pushedAtMs(this.tracked.values(), this.now(), this.startedMs, this.o.timeoutMs)) };
    for (const [symbol, t] of this.tracked) if (t.value) out[symbol] = t.value;
    return out as ObFeatures; // the map validates it against the contract on write
  }

  private async cycle(signal: AbortSignal): Promise<void> {
    await Promise.all([...this.o.sources].map(async ([symbol, source]) => {
      const t = this.tracked.get(symbol) as Tracked<AssetOb>;
      const ok = await refreshTracked(`ob ${symbol}`, t, source, (book) => assetObSchema.parse(obFeatures(book)), { signal, logger: this.o.logger, metrics: this.o.metrics });
      if (!ok || !t.value || t.lastOkMs === undefined) return;
      try {
        await this.o.writeAsset(symbol, { ...t.value, _pushed_at: isoOfMs(t.lastOkMs) });
        this.o.metrics.publishes.inc({ key: 'asset_ob' });
      } catch (err) {
        this.o.logger.warn({ err, symbol }, 'order-book features not written');
      }
    }));
    if (signal.aborted) return;
    try {
      await this.o.writeAll(this.record());
      this.o.metrics.publishes.inc({ key: 'ob_features_latest' });
    } catch (err) {
      this.o.logger.warn({ err }, 'ob_features_latest not written; the next cycle writes it again');
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    this.startedMs = this.now();
    await every(this.o.everyMs, signal, () => this.cycle(signal));
  }
}
