import { isoMicros } from '@dolphin/core';

/** What a publisher knows of one value it refreshes on a schedule. */
export interface Tracked<T> {
  value: T | null;
  /** Epoch ms of the last successful refresh; undefined = never. */
  lastOkMs?: number;
  everyMs: number;
  lastError?: string;
}

/**
 * The `_pushed_at` of a record made of several values, each refreshed on its own schedule. A
 * value refreshed within its grace (two periods plus one fetch timeout) is as fresh as its
 * schedule promises and counts as now; one that is not — failing, breaker open, never fetched —
 * counts at its last success (or when the publisher started), so the record's `_pushed_at`
 * ages with the stalest value and health sees it. Never newer than the truth.
 */
export function pushedAtMs(values: Iterable<Tracked<unknown>>, nowMs: number, startedMs: number, timeoutMs: number): number {
  let at = nowMs;
  for (const v of values) {
    const graceMs = 2 * v.everyMs + timeoutMs;
    const last = v.lastOkMs ?? startedMs;
    if (nowMs - last > graceMs || v.lastOkMs === undefined) at = Math.min(at, last);
  }
  return at;
}

export const isoOfMs = (ms: number) => isoMicros(ms * 1e6);
