import { isDeepStrictEqual } from 'node:util';
import type { Exf, Logger, Safety, TraderState } from '@dolphin/core';
import { deriveInputs, type WatchedValues } from './inputs.ts';
import { evaluateSafety, type SafetyMemory, type SafetyParams } from './posture.ts';

export interface SafetyServiceOptions {
  params: SafetyParams;
  /** DOLPHIN_SAFETY["latest"] is rewritten at least this often, so readers see it alive. */
  publishEveryMs: number;
  write(value: Safety): Promise<void>;
  saveMemory?(memory: SafetyMemory): Promise<void>;
  logger: Logger;
  memory?: SafetyMemory;
  now?: () => number;
}

/**
 * Holds the latest inputs (set by listeners), evaluates the posture on every tick, and writes
 * it when the posture, size or reasons change — at once, so the trader reacts within a tick —
 * and otherwise every `publishEveryMs`.
 */
export class SafetyService {
  private readonly o: SafetyServiceOptions;
  private readonly now: () => number;
  private readonly watched: WatchedValues = {};
  private memory: SafetyMemory | undefined;
  private last: { safety: Safety; atMs: number } | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly startedMs: number;

  constructor(o: SafetyServiceOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.memory = o.memory;
    this.startedMs = this.now();
  }

  /**
   * Judging starts once every input has been seen, or once `scanDeadMs` has passed without
   * them: a service started before the bridge and the trader would otherwise take "nothing
   * seen yet" for a dead system, go to HIBERNATE and need several calm periods to come back.
   * Until then nothing is written, and the trader opens nothing without a posture.
   */
  private judging(nowMs: number): boolean {
    const w = this.watched;
    return (w.exf !== undefined && w.scanBridgeTs !== undefined && w.state !== undefined) || nowMs - this.startedMs >= this.o.params.scanDeadMs;
  }

  setExf(v: Exf): void {
    this.watched.exf = v;
  }
  setScanBridgeTs(ts: string): void {
    this.watched.scanBridgeTs = ts;
  }
  setState(v: TraderState): void {
    this.watched.state = v;
  }
  get current(): Safety | undefined {
    return this.last?.safety;
  }

  /** Publishes at the next evaluation whether or not anything changed (a standby that became the leader). */
  publishNow(): Promise<void> {
    this.last = undefined;
    return this.tick();
  }

  /** One evaluation; resolves once any write it caused is done. */
  tick(): Promise<void> {
    const nowMs = this.now();
    if (!this.judging(nowMs)) return this.writing;
    const { safety, memory } = evaluateSafety(this.memory, deriveInputs(this.watched, nowMs), this.o.params, nowMs);
    const prev = this.last?.safety;
    const changed = !prev || prev.posture !== safety.posture || prev.size_scale !== safety.size_scale || !isDeepStrictEqual(prev.reasons, safety.reasons);
    this.memory = memory;
    if (!changed && this.last && nowMs - this.last.atMs < this.o.publishEveryMs) return this.writing;
    if (prev && prev.posture !== safety.posture) {
      this.o.logger.warn({ from: prev.posture, to: safety.posture, size_scale: safety.size_scale, reasons: safety.reasons }, `posture ${prev.posture} → ${safety.posture}`);
    }
    this.last = { safety, atMs: nowMs };
    this.writing = this.writing.then(async () => {
      try {
        await this.o.write(safety);
        await this.o.saveMemory?.(memory);
      } catch (err) {
        this.last = undefined; // written again on the next tick
        this.o.logger.warn({ err }, 'safety posture not written; the next tick tries again');
      }
    });
    return this.writing;
  }
}
