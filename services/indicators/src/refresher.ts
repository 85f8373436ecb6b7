import type { Logger } from '@dolphin/core';
import type { Tracked } from './freshness.ts';
import type { IndicatorMetrics } from './metrics.ts';
import type { ResilientSource } from './resilience/resilient-source.ts';

/**
 * One refresh of one tracked value through its resilient source: on success the value
 * `toValue` makes of what was fetched (it throws on a value out of the contract's range, which
 * counts as a failure) and its time, the error otherwise. Logs only changes of health, so a source down for hours writes two lines, not
 * thousands.
 */
export async function refreshTracked<T, U>(
  name: string, tracked: Tracked<U>, source: ResilientSource<T>, toValue: (fetched: T) => U,
  o: { signal: AbortSignal; logger: Logger; metrics: IndicatorMetrics },
): Promise<boolean> {
  const r = await source.refresh(o.signal);
  let error: string | undefined;
  if (r.ok) {
    try {
      tracked.value = toValue(r.value);
      tracked.lastOkMs = r.atMs;
      o.metrics.lastSuccess.set({ indicator: name }, r.atMs / 1000);
    } catch (err) {
      error = `${name}: value ${JSON.stringify(r.value)} refused: ${(err as Error).message}`;
    }
  } else {
    // While the breaker is open nothing is tried: the last real failure stays the one to read.
    error = r.skipped && tracked.lastError !== undefined ? tracked.lastError : r.error;
  }
  o.metrics.fetches.inc({ indicator: name, outcome: error === undefined ? 'ok' : !r.ok && r.skipped ? 'skipped' : 'failed' });
  o.metrics.breakerOpen.set({ indicator: name }, source.breakerState === 'closed' ? 0 : 1);
  if (error === undefined && tracked.lastError !== undefined) o.logger.info({ indicator: name }, 'indicator refreshed again');
  if (error !== undefined && tracked.lastError === undefined) {
    o.logger.warn({ indicator: name, error, breaker: source.breakerState }, 'indicator refresh failed; its value is kept but ages (health sees it)');
  }
  if (error === undefined) delete tracked.lastError;
  else tracked.lastError = error;
  return error === undefined;
}
