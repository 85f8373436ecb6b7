/**
 * Clock helpers. Wall-clock epoch nanoseconds come from `process.hrtime.bigint()` anchored to
 * the wall clock once per process, so per-hop latency stamps are monotonic within a process and
 * comparable across processes.
 *
 * The anchor is taken on the edge of a `Date.now()` millisecond tick: spin until the millisecond
 * changes, then read hrtime. Both processes then agree to within microseconds. Anchoring on an
 * arbitrary `Date.now()` (or `performance.timeOrigin`) leaves up to a millisecond or two of
 * offset between processes, which made cross-process latencies come out negative.
 */
function anchor(): { hr: bigint; wallNs: bigint } {
  // Several edges, keeping the one read with the least uncertainty: a process descheduled
  // between the two reads (common while a busy machine starts processes) would otherwise
  // anchor the whole process milliseconds off.
  let best: { hr: bigint; wallNs: bigint; width: bigint } | undefined;
  for (let i = 0; i < 5; i++) {
    const first = Date.now();
    let now = first;
    let prev = process.hrtime.bigint();
    let cur = prev;
    while (now === first) { // at most 1 ms per edge
      prev = cur;
      cur = process.hrtime.bigint();
      now = Date.now();
    }
    const after = process.hrtime.bigint();
    const width = after - prev; // the edge lies within [prev, after]
    if (!best || width < best.width) best = { hr: (prev + after) / 2n, wallNs: BigInt(now) * 1_000_000n, width };
  }
  return { hr: best!.hr, wallNs: best!.wallNs };
}
const { hr: anchorHr, wallNs: anchorWallNs } = anchor();

/** Epoch nanoseconds as a bigint (exact). */
export function nowEpochNsBig(): bigint {
  return anchorWallNs + (process.hrtime.bigint() - anchorHr);
}

/** Epoch nanoseconds as a number (float64: exact to 256 ns at today's epoch, enough for latency). */
export function nowEpochNs(): number {
  return Number(nowEpochNsBig());
}

/** ISO-8601 UTC with microseconds: 2026-11-24T10:00:00.123456Z. */
export function isoMicros(epochNs: bigint | number = nowEpochNsBig()): string {
  const ns = typeof epochNs === 'bigint' ? epochNs : BigInt(Math.round(epochNs));
  const ms = ns / 1_000_000n;
  const micros = (ns / 1_000n) % 1_000_000n;
  const base = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${base.slice(0, 19)}.${micros.toString().padStart(6, '0')}Z`;
}

/** Parses an ISO-8601 timestamp (any fraction precision) to epoch milliseconds; NaN if invalid. */
export function isoToEpochMs(iso: string): number {
  return Date.parse(iso);
}

/** UTC calendar date (YYYY-MM-DD) of an epoch-ms instant: the key of DOLPHIN_PNL_BLUE. */
export function utcDate(epochMs: number = Date.now()): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Age in seconds of an ISO timestamp relative to `nowMs`. Infinity when unparseable. */
export function ageSeconds(iso: string, nowMs: number = Date.now()): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Infinity : (nowMs - t) / 1000;
}
