import { z } from 'zod';
import type { Exf } from '@dolphin/core';

/**
 * The adaptive circuit breaker (DESIGN.md §5): external factors that signal market stress,
 * counted, and the size cut that count earns. Pure: the clock is passed in.
 */

/** Thresholds of the stress signals; part of the `safety.*` configuration. */
export const acbParamsSchema = z.strictObject({
  /** Funding rate strictly below this counts (negative funding: shorts pay longs). */
  fundingThreshold: z.number().default(-0.0001),
  /** DVOL (BTC implied volatility) strictly above this counts one signal. */
  dvolThreshold: z.number().positive().default(55),
  /** DVOL strictly above this counts one more (two in total). */
  dvolExtremeThreshold: z.number().positive().default(80),
  /** Once counted, a DVOL level stops counting only below its threshold minus this. */
  dvolHysteresis: z.number().min(0).default(2),
  /** Fear & greed strictly below this counts, once it has stayed there `fearConfirmMs`. */
  fearGreedThreshold: z.number().min(0).max(100).default(25),
  /** How long fear & greed must stay below its threshold before it counts: one dip is noise. */
  fearConfirmMs: z.number().int().min(0).default(30 * 60_000),
  /** Taker buy/sell volume ratio strictly below this counts (sellers dominate). */
  takerRatioThreshold: z.number().positive().default(0.8),
});
export type AcbParams = z.infer<typeof acbParamsSchema>;

/** What the breaker remembers between evaluations (plain JSON, kept across restarts). */
export const acbMemorySchema = z.strictObject({
  /** Since when (epoch ms, by the evaluation clock) fear & greed has stayed below its threshold; null when it is not. */
  fearBelowSinceMs: z.number().nullable(),
  /** DVOL signals counted last time (0, 1 or 2): what the hysteresis holds on to. */
  dvolLevel: z.number().int().min(0).max(2),
});
export type AcbMemory = z.infer<typeof acbMemorySchema>;

export const initialAcbMemory = (): AcbMemory => ({ fearBelowSinceMs: null, dvolLevel: 0 });

export interface AcbResult {
  /** Stress signals counted, 0..5. */
  signals: number;
  /** Each counted, pending or missing factor, in words. */
  reasons: string[];
  memory: AcbMemory;
}

/** Size cut in percent by signal count; 5 or more take the last. Integer percents keep 1 − cut exact (0.45, not 0.44999…). */
export const ACB_CUTS_PCT = [0, 15, 45, 55, 75, 80] as const;

/** size_scale for a signal count: 1 − cut (1, 0.85, 0.55, 0.45, 0.25, 0.2 for 0..5+). */
export function sizeScaleFor(signals: number): number {
  const n = Number.isFinite(signals) ? Math.max(0, Math.floor(signals)) : 0;
  const cut = ACB_CUTS_PCT[Math.min(n, ACB_CUTS_PCT.length - 1)]!;
  return (100 - cut) / 100;
}

/** A number as an operator reads it: at most 6 significant digits, no float noise. */
export const num = (n: number): string => String(Number(n.toPrecision(6)));

/** A duration in words: "40 s", "5 min", "2 min 30 s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}

const missing = (what: string) => `${what} missing (not fetched yet): not counted`;

/**
 * Counts the stress signals in `exf`: funding below its threshold (1), DVOL above 55 (1) and
 * above 80 (one more), fear & greed below 25 once confirmed (1), taker ratio below 0.8 (1).
 * A null factor (never fetched) counts nothing and says so.
 */
export function acbSignals(exf: Exf, params: AcbParams, memory: AcbMemory | undefined, nowMs: number): AcbResult {
  const prev = memory ?? initialAcbMemory();
  const reasons: string[] = [];
  let signals = 0;

  const funding = exf.funding_btc;
  if (funding === null) reasons.push(missing('funding rate'));
  else if (funding < params.fundingThreshold) {
    signals += 1;
    reasons.push(`funding rate ${num(funding)} is below ${num(params.fundingThreshold)} (shorts paying: stress)`);
  }

  // Each DVOL level, once counted, holds until DVOL falls below its threshold minus the
  // hysteresis, so a value hovering at 55 does not switch the count on every fetch.
  const dvol = exf.dvol_btc;
  let dvolLevel = 0;
  if (dvol === null) reasons.push(missing('DVOL'));
  else {
    const holds = (level: number, threshold: number) =>
      dvol > threshold || (prev.dvolLevel >= level && dvol >= threshold - params.dvolHysteresis);
    dvolLevel = holds(2, params.dvolExtremeThreshold) ? 2 : holds(1, params.dvolThreshold) ? 1 : 0;
    const level = (threshold: number) =>
      dvol > threshold
        ? `DVOL ${num(dvol)} is above ${num(threshold)}`
        : `DVOL ${num(dvol)} still counts as above ${num(threshold)} until it falls below ${num(threshold - params.dvolHysteresis)}`;
    if (dvolLevel === 2) reasons.push(`${level(params.dvolExtremeThreshold)} (extreme implied volatility: 2 signals)`);
    else if (dvolLevel === 1) reasons.push(`${level(params.dvolThreshold)} (high implied volatility: stress)`);
    signals += dvolLevel;
  }

  const fg = exf.fear_greed;
  let fearBelowSinceMs: number | null = null;
  if (fg === null) reasons.push(missing('fear & greed'));
  else if (fg < params.fearGreedThreshold) {
    fearBelowSinceMs = prev.fearBelowSinceMs ?? nowMs;
    const below = Math.max(0, nowMs - fearBelowSinceMs);
    if (below >= params.fearConfirmMs) {
      signals += 1;
      reasons.push(`fear & greed ${num(fg)} has stayed below ${num(params.fearGreedThreshold)} for ${duration(below)} (extreme fear confirmed: stress)`);
    } else {
      reasons.push(`fear & greed ${num(fg)} is below ${num(params.fearGreedThreshold)} for ${duration(below)} so far; counts once it has stayed there ${duration(params.fearConfirmMs)}`);
    }
  }

  const taker = exf.taker_ratio;
  if (taker === null) reasons.push(missing('taker ratio'));
  else if (taker < params.takerRatioThreshold) {
    signals += 1;
    reasons.push(`taker buy/sell ratio ${num(taker)} is below ${num(params.takerRatioThreshold)} (sellers dominating: stress)`);
  }

  return { signals, reasons, memory: { fearBelowSinceMs, dvolLevel } };
}
