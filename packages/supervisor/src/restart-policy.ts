import type { RestartPolicy, StartLimit } from '@dolphin/core';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Configuration errors (sysexits EX_CONFIG) are not cured by a restart: FAILED at once. */
export const EXIT_CONFIG = 78;

export type RestartVerdict =
  | { restart: true; delayMs: number }
  | { restart: false; why: 'policy' | 'config-error' | 'start-limit'; detail: string };

/**
 * When and whether a process that exited on its own is started again: systemd's Restart=,
 * RestartSec= (with a growing delay) and StartLimitBurst=/StartLimitIntervalSec=, in one
 * place and without timers, so every rule is tested on its own.
 */
export class RestartTracker {
  private readonly policy: RestartPolicy;
  private readonly limit: StartLimit;
  private starts: number[] = [];
  private failures = 0;
  private startedAt = 0;

  constructor(policy: RestartPolicy, limit: StartLimit) {
    this.policy = policy;
    this.limit = limit;
  }

  /** Restarts so far in a row without a healthy run (the delay grows with it). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Starts within the current start-limit window. */
  startsInWindow(now: number): number {
    return this.starts.filter((t) => now - t < this.limit.intervalMs).length;
  }

  /** False when one more start would exceed the start limit. */
  mayStart(now: number): boolean {
    this.starts = this.starts.filter((t) => now - t < this.limit.intervalMs);
    return this.starts.length < this.limit.burst;
  }

  recordStart(now: number): void {
    this.starts.push(now);
    this.startedAt = now;
  }

  /** A person asked (restart/start): the limit and the backoff start over. */
  reset(): void {
    this.starts = [];
    this.failures = 0;
  }

  /** The process exited (or never became ready) at `now`; `failed`: a readiness timeout or a limit breach. */
  onExit(exit: ExitInfo, now: number, forced?: string): RestartVerdict {
    if (now - this.startedAt >= this.policy.resetAfterMs) this.failures = 0;
    const clean = exit.code === 0 && exit.signal === null && forced === undefined;
    if (exit.code === EXIT_CONFIG && forced === undefined) {
      return { restart: false, why: 'config-error', detail: 'exited 78 (configuration error): fix the configuration, then restart it' };
    }
    if (this.policy.mode === 'never' || (this.policy.mode === 'on-failure' && clean)) {
      return { restart: false, why: 'policy', detail: `restart mode ${this.policy.mode}` };
    }
    if (!this.mayStart(now)) {
      return { restart: false, why: 'start-limit', detail: `${this.limit.burst} starts within ${this.limit.intervalMs / 1000} s` };
    }
    this.failures += 1;
    const delayMs = Math.min(this.policy.maxMs, this.policy.initialMs * this.policy.multiplier ** (this.failures - 1));
    return { restart: true, delayMs: Math.round(delayMs) };
  }
}
