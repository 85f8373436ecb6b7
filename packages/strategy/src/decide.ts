import { velDiv, type Exf, type ObFeatures, type Posture, type Safety, type ScanRecord } from '@dolphin/core';
import { fill, shortPnl, type Fill } from './broker.ts';
import type { StrategyParams } from './params.ts';
import { unrealized, type StrategyState } from './state.ts';

/**
 * The inputs besides the scan, as the trader's caches hold them (absent when never seen).
 * `vel-div-1` reads only the safety posture; the external factors and order-book features are
 * passed so that a strategy version using them needs no change to the trader.
 */
export interface DecisionInputs {
  safety?: Pick<Safety, 'posture' | 'size_scale' | 'ts'>;
  exf?: Exf;
  ob?: ObFeatures;
}

export type OrderReason = 'entry' | 'take_profit' | 'stop_loss' | 'max_hold';

export interface Order extends Fill {
  symbol: string;
  reason: OrderReason;
  scanNumber: number;
  tsNs: number;
  /** Realized PnL of an exit (after both legs' fees); 0 for an entry. */
  realized: number;
}

export type Skip = 'duplicate' | 'older';

export interface Decision {
  orders: Order[];
  state: StrategyState;
  /** vel_div of this scan. */
  velDiv: number;
  /** Why no entry was made although vel_div signalled one, in words (empty when there was no signal or it entered). */
  blocked: string[];
  /** Set when the scan was not decided on at all. */
  skipped?: Skip;
}

const utcDay = (tsNs: number) => new Date(tsNs / 1e6).toISOString().slice(0, 10);

function priceOf(scan: Pick<ScanRecord, 'assets' | 'asset_prices'>, symbol: string): number | undefined {
  const i = scan.assets.indexOf(symbol);
  return i < 0 ? undefined : scan.asset_prices[i];
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * `price` of `symbol` as this scan gives it, or undefined when it is held: further than
 * `maxPriceMovePct` from the last accepted price, and not yet confirmed by `priceConfirmScans`
 * scans in a row within that limit of each other. The state carries the reference and the run.
 */
function checkPrice(s: StrategyState, symbol: string, price: number | undefined, p: StrategyParams): { state: StrategyState; price: number | undefined; held?: string } {
  if (price === undefined) return { state: s, price };
  const ref = s.refPrices[symbol];
  const accept = (): { state: StrategyState; price: number } => ({
    state: { ...s, refPrices: { ...s.refPrices, [symbol]: price }, priceJump: s.priceJump?.symbol === symbol ? null : s.priceJump },
    price,
  });
  if (ref === undefined || Math.abs(price / ref - 1) <= p.maxPriceMovePct) return accept();
  const run = s.priceJump?.symbol === symbol && Math.abs(price / s.priceJump.price - 1) <= p.maxPriceMovePct ? s.priceJump.count + 1 : 1;
  if (run >= p.priceConfirmScans) return accept();
  return {
    state: { ...s, priceJump: { symbol, price, count: run } },
    price: undefined,
    held: `${symbol} at ${price} is ${pct(Math.abs(price / ref - 1))} from its last accepted price ${ref} (limit ${pct(p.maxPriceMovePct)}): held, no fill, until ${p.priceConfirmScans} scans in a row agree (${run} so far)`,
  };
}

/** Which exit, if any, the open position takes at `price` and time `tsNs`. Stop-loss is checked first. */
function exitReason(state: StrategyState, price: number, tsNs: number, p: StrategyParams): OrderReason | undefined {
  const pos = state.position;
  if (!pos) return undefined;
  if (price >= pos.entryPrice * (1 + p.stopLossPct)) return 'stop_loss';
  if (price <= pos.entryPrice * (1 - p.takeProfitPct)) return 'take_profit';
  if (tsNs - pos.entryTsNs >= p.maxHoldMs * 1e6) return 'max_hold';
  return undefined;
}

/**
 * One scan, one decision: exits first (stop-loss, take-profit, max hold), then the risk locks,
 * then at most one SHORT entry when vel_div ≤ threshold. Fills are paper fills at the scan's
 * price. Pure: no clock, no I/O; time is the scan's. The live trader and backtests call this
 * same function, so a backtest over archived scans reproduces live decisions.
 */
export function decide(state: StrategyState, scan: ScanRecord, inputs: DecisionInputs, p: StrategyParams): Decision {
  const vd = velDiv(scan);
  if (scan.timestamp_ns <= state.lastScanTsNs) {
    return { orders: [], state, velDiv: vd, blocked: [], skipped: scan.timestamp_ns === state.lastScanTsNs ? 'duplicate' : 'older' };
  }
  const ts = scan.timestamp_ns;
  let s: StrategyState = { ...state, lastScanTsNs: ts, lastScanNumber: scan.scan_number };
  // Prices too far from the last accepted ones are held (undefined below): no fill at them.
  const held: string[] = [];
  const plausible = (symbol: string): number | undefined => {
    const r = checkPrice(s, symbol, priceOf(scan, symbol), p);
    s = r.state;
    if (r.held) held.push(r.held);
    return r.price;
  };
  // Exits and marks price the position's own symbol (it may predate a change of `symbol`).
  const price = plausible(p.symbol);
  const markPrice = state.position ? (state.position.symbol === p.symbol ? price : plausible(state.position.symbol)) : price;

  // A new UTC day resets the day's counters and lifts the drawdown lock.
  const day = utcDay(ts);
  if (day !== s.day) {
    // Without a price for the open position its mark is unknown: carry the cash equity only.
    s = { ...s, day, dayStartEquity: s.capital + unrealized(s, markPrice), realizedToday: 0, feesToday: 0, tradesToday: 0, dayLocked: false };
  }

  const orders: Order[] = [];
  const reason = markPrice === undefined ? undefined : exitReason(s, markPrice, ts, p);
  if (reason && s.position && markPrice !== undefined) {
    const pos = s.position;
    const f = fill('BUY', pos.quantity, markPrice, p.feeBps, p.slippageBps);
    const gross = shortPnl(pos.entryPrice, f.price, pos.quantity);
    // The entry fee was paid when the position opened; a trade's realized PnL counts both fees.
    orders.push({ ...f, symbol: pos.symbol, reason, scanNumber: scan.scan_number, tsNs: ts, realized: gross - f.fee - pos.entryFee });
    s = {
      ...s,
      capital: s.capital + gross - f.fee,
      position: null,
      realizedToday: s.realizedToday + gross - f.fee - pos.entryFee,
      feesToday: s.feesToday + f.fee,
      tradesToday: s.tradesToday + 1,
      cooldownUntilNs: reason === 'stop_loss' ? ts + p.cooldownAfterStopMs * 1e6 : s.cooldownUntilNs,
    };
  }

  // The drawdown is judged only when the open position can be marked.
  const markable = s.position === null || markPrice !== undefined;
  const equity = s.capital + unrealized(s, markPrice);
  if (markable && !s.dayLocked && s.dayStartEquity > 0 && (s.dayStartEquity - equity) / s.dayStartEquity >= p.dailyMaxDrawdownPct) {
    s = { ...s, dayLocked: true };
  }

  const posture: Posture = inputs.safety?.posture ?? s.posture;
  s = { ...s, posture };
  const blocked: string[] = [...held];
  if (vd <= p.velDivThreshold) {
    const safetyAgeMs = inputs.safety ? ts / 1e6 - Date.parse(inputs.safety.ts) : Number.POSITIVE_INFINITY;
    // A posture newer than the scan is fresh (a catch-up decides old scans with today's posture);
    // one dated beyond the clock never reaches here: the trader refuses it on arrival.
    const fresh = inputs.safety !== undefined && safetyAgeMs <= p.maxSafetyAgeMs;
    const multiplier = p.postureMultipliers[posture];
    if (orders.length > 0) blocked.push('a position was closed on this scan');
    else if (s.position) blocked.push('a position is already open');
    if (price === undefined && held.length === 0) blocked.push(`${p.symbol} is not in the scan`);
    if (!inputs.safety) blocked.push('no safety posture received yet');
    else if (!fresh) blocked.push(`safety posture is stale (${Math.round(safetyAgeMs / 1000)} s old)`);
    // The posture and size scale speak only when the safety they come from is fresh.
    if (fresh && posture === 'HIBERNATE') blocked.push('posture HIBERNATE opens nothing');
    else if (fresh && posture === 'TURTLE') blocked.push('posture TURTLE only exits');
    else if (fresh && multiplier <= 0) blocked.push(`posture ${posture} has multiplier 0`);
    if (s.dayLocked) blocked.push(`daily drawdown limit (${p.dailyMaxDrawdownPct * 100} %) reached`);
    if (ts < s.cooldownUntilNs) blocked.push('cooling down after a stop-loss');
    const sizeScale = inputs.safety?.size_scale ?? 0;
    if (fresh && sizeScale <= 0) blocked.push('safety size_scale is 0');
    if (blocked.length === 0 && price !== undefined) {
      const budget = s.capital * p.capitalFraction * sizeScale * multiplier;
      const entryPrice = price * (1 - p.slippageBps / 10_000);
      const quantity = budget / entryPrice;
      const f = fill('SELL', quantity, price, p.feeBps, p.slippageBps);
      orders.push({ ...f, symbol: p.symbol, reason: 'entry', scanNumber: scan.scan_number, tsNs: ts, realized: 0 });
      s = {
        ...s,
        capital: s.capital - f.fee,
        feesToday: s.feesToday + f.fee,
        position: { symbol: p.symbol, side: 'SHORT', quantity, entryPrice: f.price, entryFee: f.fee, entryTsNs: ts, entryScanNumber: scan.scan_number },
      };
    }
  }
  return { orders, state: s, velDiv: vd, blocked };
}
