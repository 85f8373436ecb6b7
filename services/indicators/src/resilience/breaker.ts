export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one probe is let through. */
  readonly openMs: number;
}

/**
 * A circuit breaker driven by the caller's clock: no timers, so it is deterministic to test
 * and costs nothing while idle. `open` turns into `half-open` only when `canTry` is asked
 * after `openMs`; the one try it then allows is the probe that closes or re-opens it.
 */
export class CircuitBreaker {
  readonly #failureThreshold: number;
  readonly #openMs: number;
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt: number | undefined = undefined;
  #probeOut = false;

  constructor(opts: BreakerOptions) {
    if (!Number.isInteger(opts.failureThreshold) || opts.failureThreshold < 1) {
      throw new RangeError(`breaker failureThreshold must be an integer ≥ 1, got ${opts.failureThreshold}`);
    }
    if (!(opts.openMs >= 0)) throw new RangeError(`breaker openMs must be ≥ 0, got ${opts.openMs}`);
    this.#failureThreshold = opts.failureThreshold;
    this.#openMs = opts.openMs;
  }

  get state(): BreakerState {
    return this.#state;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** When the circuit last opened; undefined while closed. */
  get openedAt(): number | undefined {
    return this.#openedAt;
  }

  /** Whether a try may start now. A `true` in half-open hands out the single probe. */
  canTry(nowMs: number): boolean {
    switch (this.#state) {
      case 'closed':
        return true;
      case 'open':
        if (this.#openedAt !== undefined && nowMs - this.#openedAt < this.#openMs) return false;
        this.#state = 'half-open';
        this.#probeOut = true;
        return true;
      case 'half-open':
        if (this.#probeOut) return false;
        this.#probeOut = true;
        return true;
    }
  }

  onSuccess(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#probeOut = false;
  }

  onFailure(nowMs: number): void {
    this.#failures += 1;
    switch (this.#state) {
      case 'closed':
        if (this.#failures >= this.#failureThreshold) this.#open(nowMs);
        return;
      case 'half-open':
        this.#open(nowMs);
        return;
      case 'open':
        // A try that started before the circuit opened: counted, but it does not extend the wait.
        return;
    }
  }

  /** A try ended with no verdict (the caller stopped it): frees the half-open probe, counts nothing. */
  onCancel(): void {
    this.#probeOut = false;
  }

  #open(nowMs: number): void {
    this.#state = 'open';
    this.#openedAt = nowMs;
    this.#probeOut = false;
  }
}
