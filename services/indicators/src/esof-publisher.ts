import type { Esof, Logger } from '@dolphin/core';
import { calendarFactors } from './esof.ts';
import { isoOfMs } from './freshness.ts';
import type { IndicatorMetrics } from './metrics.ts';
import { every } from '@dolphin/service-kit';

/** esof_latest: the calendar and session factors, from the clock, every `everyMs`. */
export async function runEsofPublisher(o: {
  everyMs: number; write(value: Esof): Promise<void>; logger: Logger; metrics: IndicatorMetrics; now?: () => number;
}, signal: AbortSignal): Promise<void> {
  const now = o.now ?? Date.now;
  await every(o.everyMs, signal, async () => {
    const ms = now();
    try {
      await o.write({ ...calendarFactors(ms), _pushed_at: isoOfMs(ms) });
      o.metrics.publishes.inc({ key: 'esof_latest' });
    } catch (err) {
      o.logger.warn({ err }, 'esof_latest not written; the next tick writes it again');
    }
  });
}
