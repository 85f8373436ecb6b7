export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** Share of the delay, 0..1, by which it is randomly stretched or shrunk. */
  readonly jitter: number;
}

/**
 * Delay before retry number `attempt` (0 = the wait after the first failure).
 * delay = clamp(min(maxMs, initialMs · multiplier^attempt) · (1 + jitter · (2·random() − 1)), 0, maxMs), rounded to whole ms.
 * Jitter spreads the retries of sources that failed together so they do not hit the API in step.
 */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const { initialMs, maxMs, multiplier, jitter } = opts;
  if (!(initialMs >= 0 && maxMs >= 0 && multiplier >= 1 && jitter >= 0 && jitter <= 1)) {
    throw new RangeError(
      `backoff options out of range: initialMs ${initialMs}, maxMs ${maxMs}, multiplier ${multiplier}, jitter ${jitter}` +
        ' (want initialMs ≥ 0, maxMs ≥ 0, multiplier ≥ 1, 0 ≤ jitter ≤ 1)',
    );
  }
  const n = Math.max(0, Math.floor(attempt));
  // initialMs 0 would give 0 · Infinity = NaN for a large attempt.
  const grown = initialMs === 0 ? 0 : initialMs * multiplier ** n;
  const base = Math.min(maxMs, grown);
  const jittered = base * (1 + jitter * (2 * random() - 1));
  return Math.round(Math.min(maxMs, Math.max(0, jittered)));
}
