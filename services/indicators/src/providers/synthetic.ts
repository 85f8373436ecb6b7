import { seededRandom } from '@dolphin/core';
import type { OrderBook, Provider } from './provider.ts';

/** How each factor moves in the synthetic provider: an AR(1) around a typical level, clamped. */
export const SYNTHETIC_FACTORS = {
  funding_btc: { start: 0.0001, mean: 0.0001, phi: 0.97, sd: 0.00004, min: -0.003, max: 0.003, digits: 7 },
  dvol_btc: { start: 50, mean: 52, phi: 0.98, sd: 1.5, min: 20, max: 160, digits: 2 },
  fear_greed: { start: 50, mean: 50, phi: 0.99, sd: 2.5, min: 0, max: 100, digits: 0 },
  taker_ratio: { start: 1, mean: 1, phi: 0.9, sd: 0.06, min: 0.2, max: 3, digits: 4 },
} as const;
export type SyntheticFactor = keyof typeof SYNTHETIC_FACTORS;

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A seeded random walk of one factor: the same seed gives the same series. */
export function syntheticNumber(factor: SyntheticFactor, seed: number): Provider<number> {
  const f = SYNTHETIC_FACTORS[factor];
  const rnd = seededRandom(seed);
  let x: number = f.start;
  return {
    name: `synthetic ${factor}`,
    fetch() {
      x = Math.min(f.max, Math.max(f.min, f.mean + f.phi * (x - f.mean) + f.sd * gaussian(rnd)));
      return Promise.resolve(Number(x.toFixed(f.digits)));
    },
  };
}

/** Order books around a per-symbol random-walk mid price, five levels a side. */
export function syntheticBooks(seed: number): (symbol: string) => Provider<OrderBook> {
  const rnd = seededRandom(seed);
  const mids = new Map<string, number>();
  return (symbol) => ({
    name: `synthetic book ${symbol}`,
    fetch() {
      // A stable start per symbol, from its letters.
      const start = mids.get(symbol) ?? 1 + ([...symbol].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_000, 7) / 10);
      const mid = start * Math.exp(0.001 * gaussian(rnd));
      mids.set(symbol, mid);
      const tick = mid * 0.0001;
      const level = (i: number, dir: 1 | -1): [number, number] => [mid + dir * tick * (i + 1), Number((rnd() * 10 + 0.1).toFixed(3))];
      return Promise.resolve({
        bids: [0, 1, 2, 3, 4].map((i) => level(i, -1)),
        asks: [0, 1, 2, 3, 4].map((i) => level(i, 1)),
      });
    },
  });
}
