import type { AssetOb } from '@dolphin/core';
import type { OrderBook, BookLevels } from './providers/provider.ts';

export const OB_LEVELS = 5;

function side(levels: BookLevels): { notional: number[]; depth: number[] } {
  const notional: number[] = [];
  const depth: number[] = [];
  let cumulative = 0;
  for (let i = 0; i < OB_LEVELS; i++) {
    const [price, qty] = levels[i] ?? [0, 0];
    notional.push(price * qty);
    cumulative += qty;
    depth.push(cumulative);
  }
  return { notional, depth };
}

/**
 * Order-book features of one asset (DESIGN.md §3): per level, the notional (price × quantity)
 * and the depth (quantity resting at that level and better); the imbalance is
 * (bid − ask) / (bid + ask) over the five levels' notional, in [−1, 1] (0 for an empty book).
 * A book with fewer than five levels is padded with empty ones.
 */
export function obFeatures(book: OrderBook): AssetOb {
  const bid = side(book.bids);
  const ask = side(book.asks);
  const b = bid.notional.reduce((x, y) => x + y, 0);
  const a = ask.notional.reduce((x, y) => x + y, 0);
  return {
    bid_notional: bid.notional, ask_notional: ask.notional,
    bid_depth: bid.depth, ask_depth: ask.depth,
    imbalance: b + a > 0 ? (b - a) / (b + a) : 0,
  };
}
