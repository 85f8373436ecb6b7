/**
 * Paper fills: at the scan's price moved against the trader by the slippage, with the fee on the
 * fill's notional. Both legs pay both.
 */
export interface Fill {
  side: 'SELL' | 'BUY';
  quantity: number;
  /** The price after slippage. */
  price: number;
  notional: number;
  fee: number;
}

const bps = (n: number) => n / 10_000;

export function fill(side: Fill['side'], quantity: number, scanPrice: number, feeBps: number, slippageBps: number): Fill {
  // Selling fills lower, buying higher: slippage always costs.
  const price = side === 'SELL' ? scanPrice * (1 - bps(slippageBps)) : scanPrice * (1 + bps(slippageBps));
  const notional = price * quantity;
  return { side, quantity, price, notional, fee: notional * bps(feeBps) };
}

/** Gain of a SHORT from entry to `price` (before exit costs). */
export function shortPnl(entryPrice: number, price: number, quantity: number): number {
  return (entryPrice - price) * quantity;
}

/** Cents, for figures that are stored and compared: away from binary fractions. */
export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}
