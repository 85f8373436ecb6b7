import { z } from 'zod';

const postureMultipliers = z.strictObject({
  APEX: z.number().min(0).max(1).default(1),
  STALKER: z.number().min(0).max(1).default(0.5),
  /** TURTLE only exits: no new entries whatever this says. */
  TURTLE: z.number().min(0).max(1).default(0),
  /** HIBERNATE opens nothing. */
  HIBERNATE: z.number().min(0).max(1).default(0),
});

/**
 * Every parameter of the strategy, with its default. The same parameters and the same scans
 * always give the same decisions: backtests depend on it.
 */
export const strategyParamsSchema = z.strictObject({
  /** Identifies the decisions in the state and the ledger. */
  algoVersion: z.string().min(1).default('vel-div-1'),
  /** The asset traded; its price is taken from the scan. */
  symbol: z.string().min(1).default('BTCUSDT'),
  /** vel_div = w50_velocity − w150_velocity at or below this is an instability regime: go SHORT. */
  velDivThreshold: z.number().max(0).default(-0.02),
  initialCapital: z.number().positive().default(25_000),
  /** Share of capital put into one position before the safety and posture scales. */
  capitalFraction: z.number().gt(0).max(1).default(0.2),
  /** Exit when the price has fallen this fraction below the entry (a SHORT's gain). */
  takeProfitPct: z.number().gt(0).max(1).default(0.01),
  /** Exit when the price has risen this fraction above the entry. */
  stopLossPct: z.number().gt(0).max(1).default(0.005),
  /** Exit after holding this long (scan time). */
  maxHoldMs: z.number().int().positive().default(20 * 60_000),
  /** Per fill, on its notional, both legs. */
  feeBps: z.number().min(0).default(4),
  /** Per fill, against the trader, both legs. */
  slippageBps: z.number().min(0).default(2),
  postureMultipliers: postureMultipliers.prefault({}),
  /** Equity down this fraction from the day's start: no new entries until the next UTC day. */
  dailyMaxDrawdownPct: z.number().gt(0).max(1).default(0.03),
  /** No new entry this long after a stop-loss. */
  cooldownAfterStopMs: z.number().int().min(0).default(10 * 60_000),
  /** Safety older than this (by scan time) counts as missing: no new entries. */
  maxSafetyAgeMs: z.number().int().positive().default(120_000),
  /**
   * A price this far (fraction) from the last accepted price of its symbol is held, not traded on,
   * until `priceConfirmScans` scans in a row agree with the new level: one bad print (or a forged
   * scan) never fills, a real move is followed a few scans late. 0.2: a 20 % move in one scan.
   */
  maxPriceMovePct: z.number().gt(0).default(0.2),
  priceConfirmScans: z.number().int().min(1).default(3),
});
export type StrategyParams = z.infer<typeof strategyParamsSchema>;

/** Defaults, merged with whatever is given; a bad value throws naming the field. */
export function strategyParams(input: unknown = {}): StrategyParams {
  return strategyParamsSchema.parse(input);
}
