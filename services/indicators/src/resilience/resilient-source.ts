import { setTimeout as delay } from 'node:timers/promises';
import type { Provider } from '../providers/provider.ts';
import { backoffDelayMs, type BackoffOptions } from './backoff.ts';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.ts';

export interface ResilientSourceOptions {
  /** Upper bound of one try, whether or not the provider honours its abort signal. */
  readonly timeoutMs: number;
  /** Tries per refresh, the first included. */
  readonly attempts: number;
  readonly backoff: BackoffOptions;
  readonly breaker: BreakerOptions;
  readonly now?: () => number;
  /** Resolves after `ms`, rejects as soon as `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

export type RefreshResult<T> =
  | { readonly ok: true; readonly value: T; readonly atMs: number; readonly attempts: number }
  | {
      readonly ok: false;
      readonly error: string;
      readonly attempts: number;
      readonly breaker: BreakerState;
      /** The breaker refused: nothing was tried. */
      readonly skipped: boolean;
    };

type TryOutcome<T> = { ok: true; value: T } | { ok: false; error: string; stopped: boolean };

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal === undefined ? undefined : { signal });

/**
 * One provider behind a timeout per try, retries with backoff and a circuit breaker.
 * `refresh` never throws and never waits on an open circuit, so a broken source costs its
 * indicator a failed refresh and never delays the others.
 */
export class ResilientSource<T> {
  readonly #provider: Provider<T>;
  readonly #opts: ResilientSourceOptions;
  readonly #breaker: CircuitBreaker;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  #lastError: string | undefined = undefined;

  constructor(provider: Provider<T>, opts: ResilientSourceOptions) {
    if (!(opts.timeoutMs > 0)) throw new RangeError(`${provider.name}: timeoutMs must be > 0, got ${opts.timeoutMs}`);
    if (!Number.isInteger(opts.attempts) || opts.attempts < 1) {
      throw new RangeError(`${provider.name}: attempts must be an integer ≥ 1, got ${opts.attempts}`);
    }
    // Fails here rather than on the first retry.
    backoffDelayMs(0, opts.backoff, () => 0.5);
    this.#provider = provider;
    this.#opts = opts;
    this.#breaker = new CircuitBreaker(opts.breaker);
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? defaultSleep;
    this.#random = opts.random ?? Math.random;
  }

  get name(): string {
    return this.#provider.name;
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  async refresh(stop?: AbortSignal): Promise<RefreshResult<T>> {
    const name = this.#provider.name;
    // Before canTry: a half-open probe handed out and never used would block the circuit.
    if (stop?.aborted) return this.#failed(`${name}: stopped before the first try`, 0, false);
    if (!this.#breaker.canTry(this.#now())) {
      const last = this.#lastError === undefined ? '' : `; last error: ${this.#lastError}`;
      return this.#failed(
        `${name}: circuit ${this.#breaker.state} after ${this.#breaker.consecutiveFailures} consecutive failures, not tried${last}`,
        0,
        true,
      );
    }
    let tries = 0;
    for (;;) {
      tries += 1;
      const outcome = await this.#tryOnce(stop);
      if (outcome.ok) {
        this.#breaker.onSuccess();
        this.#lastError = undefined;
        return { ok: true, value: outcome.value, atMs: this.#now(), attempts: tries };
      }
      if (outcome.stopped) {
        this.#breaker.onCancel();
        return this.#failed(outcome.error, tries, false);
      }
      this.#lastError = outcome.error;
      this.#breaker.onFailure(this.#now());
      if (tries >= this.#opts.attempts || this.#breaker.state !== 'closed') {
        return this.#failed(outcome.error, tries, false);
      }
      try {
        await this.#sleep(backoffDelayMs(tries - 1, this.#opts.backoff, this.#random), stop);
      } catch {
        return this.#failed(`${name}: stopped during backoff; last error: ${outcome.error}`, tries, false);
      }
      // An injected sleep may ignore the signal; another refresh may have opened the circuit meanwhile.
      if (stop?.aborted) return this.#failed(`${name}: stopped during backoff; last error: ${outcome.error}`, tries, false);
      if (!this.#breaker.canTry(this.#now())) return this.#failed(outcome.error, tries, false);
    }
  }

  async #tryOnce(stop: AbortSignal | undefined): Promise<TryOutcome<T>> {
    const name = this.#provider.name;
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
    const signal = stop === undefined ? timeout : AbortSignal.any([timeout, stop]);
    try {
      const value = await untilAborted(this.#provider.fetch({ signal, nowMs: this.#now() }), signal);
      return { ok: true, value };
    } catch (err) {
      if (stop?.aborted) return { ok: false, error: `${name}: stopped`, stopped: true };
      if (timeout.aborted) return { ok: false, error: `${name}: timed out after ${this.#opts.timeoutMs} ms`, stopped: false };
      return { ok: false, error: describeFailure(name, err), stopped: false };
    }
  }

  #failed(error: string, attempts: number, skipped: boolean): RefreshResult<T> {
    return { ok: false, error, attempts, breaker: this.#breaker.state, skipped };
  }
}

/** Settles with `work`, or rejects when `signal` aborts first: a provider that ignores its signal is still cut off. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** The provider's message, prefixed with its name unless the provider already did. */
function describeFailure(name: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
}
