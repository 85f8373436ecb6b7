import type { Posture } from '@dolphin/core';
import { shortPnl } from './broker.ts';
import type { StrategyParams } from './params.ts';

export interface OpenPosition {
  symbol: string;
  side: 'SHORT';
  quantity: number;
  /** Fill price of the entry (after slippage). */
  entryPrice: number;
  entryFee: number;
  entryTsNs: number;
  entryScanNumber: number;
}

/** What the strategy carries from scan to scan. Plain data: it is stored, restored and compared. */
export interface StrategyState {
  /** Cash equity: starts at the initial capital, moves by realized PnL and fees only. */
  capital: number;
  position: OpenPosition | null;
  /** UTC day of the last scan, and what the risk locks count within it. */
  day: string;
  dayStartEquity: number;
  realizedToday: number;
  feesToday: number;
  tradesToday: number;
  /** Daily drawdown reached: no new entries until the next day. */
  dayLocked: boolean;
  /** No new entries before this scan time (after a stop-loss). */
  cooldownUntilNs: number;
  lastScanTsNs: number;
  lastScanNumber: number;
  /** The posture last decided under. */
  posture: Posture;
  /** The last accepted price of each symbol traded or held (the reference for implausible moves). */
  refPrices: Record<string, number>;
  /** A price far from the reference, seen `count` scans in a row (within the limit of each other). */
  priceJump: { symbol: string; price: number; count: number } | null;
}

export function initialState(params: StrategyParams): StrategyState {
  return {
    capital: params.initialCapital,
    position: null,
    day: '',
    dayStartEquity: params.initialCapital,
    realizedToday: 0,
    feesToday: 0,
    tradesToday: 0,
    dayLocked: false,
    cooldownUntilNs: 0,
    lastScanTsNs: 0,
    lastScanNumber: 0,
    posture: 'APEX',
    refPrices: {},
    priceJump: null,
  };
}

/** Gain of the open position marked at `price`, before exit costs. */
export function unrealized(state: StrategyState, price: number | undefined): number {
  const p = state.position;
  return p && price !== undefined ? shortPnl(p.entryPrice, price, p.quantity) : 0;
}
