import { exfSchema, type Exf, type Logger } from '@dolphin/core';
import { isoOfMs, pushedAtMs, type Tracked } from './freshness.ts';
import type { IndicatorMetrics } from './metrics.ts';
import { refreshTracked } from './refresher.ts';
import type { ResilientSource } from './resilience/resilient-source.ts';
import { every } from '@dolphin/service-kit';

export const EXF_FIELDS = ['funding_btc', 'dvol_btc', 'fear_greed', 'taker_ratio'] as const;
export type ExfField = (typeof EXF_FIELDS)[number];

export interface ExfPublisherOptions {
  sources: Record<ExfField, { source: ResilientSource<number>; everyMs: number }>;
  /** Writes exf_latest (validated against the contract by the map). */
  write(value: Exf): Promise<void>;
  publishEveryMs: number;
  timeoutMs: number;
  logger: Logger;
  metrics: IndicatorMetrics;
  now?: () => number;
}

/**
 * exf_latest: funding, DVOL, fear & greed and taker ratio, each refreshed on its own schedule
 * (a slow or broken one never holds the others back), written after every refresh and at
 * least every `publishEveryMs`. Per-field times and errors ride along as `_at` / `_errors`.
 */
export class ExfPublisher {
  private readonly o: ExfPublisherOptions;
  private readonly now: () => number;
  private readonly tracked: Record<ExfField, Tracked<number>>;
  private startedMs = 0;

  constructor(o: ExfPublisherOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.tracked = Object.fromEntries(EXF_FIELDS.map((f) => [f, { value: null, everyMs: o.sources[f].everyMs }])) as unknown as Record<ExfField, Tracked<number>>;
  }

  /** The record as of now. */
  record(): Exf {
    const nowMs = this.now();
    const at: Record<string, string | null> = {};
    const errors: Record<string, string> = {};
    for (const f of EXF_FIELDS) {
      const t = this.tracked[f];
      at[f] = t.lastOkMs === undefined ? null : isoOfMs(t.lastOkMs);
      if (t.lastError !== undefined) errors[f] = t.lastError;
    }
    return {
      funding_btc: this.tracked.funding_btc.value,
      dvol_btc: this.tracked.dvol_btc.value,
      fear_greed: this.tracked.fear_greed.value,
      taker_ratio: this.tracked.taker_ratio.value,
      _pushed_at: isoOfMs(pushedAtMs(Object.values(this.tracked), nowMs, this.startedMs, this.o.timeoutMs)),
      _at: at,
      _errors: errors,
    };
  }

  private async publish(): Promise<void> {
    try {
      await this.o.write(this.record());
      this.o.metrics.publishes.inc({ key: 'exf_latest' });
    } catch (err) {
      this.o.logger.warn({ err }, 'exf_latest not written; the next refresh writes it again');
    }
  }

  /** Runs every schedule until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.startedMs = this.now();
    const loops = EXF_FIELDS.map((f) => every(this.o.sources[f].everyMs, signal, async () => {
      await refreshTracked(f, this.tracked[f], this.o.sources[f].source, (v) => exfSchema.shape[f].parse(v) as number, { signal, logger: this.o.logger, metrics: this.o.metrics });
      if (!signal.aborted) await this.publish();
    }));
    loops.push(every(this.o.publishEveryMs, signal, () => this.publish()));
    await Promise.all(loops);
  }
}
