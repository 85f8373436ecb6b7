import { isoMicros, velDiv, type Exf, type ScanRecord } from '@dolphin/core';
import type { SafetyInput } from '@dolphin/ledger';
import { cents, decide, unrealized, type Order, type StrategyParams, type StrategyState } from '@dolphin/strategy';
import type { ModelDayResult, PositionRecord } from './db.ts';

export interface ModelDayInput {
  date: string;
  params: StrategyParams;
  /** The day's scans, in time order. */
  scans: readonly ScanRecord[];
  /** The safety posture each scan is decided with (the live run's, or APEX at full size). */
  safetyAt: (tsNs: number) => SafetyInput | undefined;
  exfAt?: (tsNs: number) => Exf | undefined;
  /** Where the model stands when the day begins (the previous day's end, or its initial state). */
  startState: StrategyState;
}

export interface ModelDayStats {
  scans: number;
  decided: number;
  skipped: number;
  signals: number;
  orders: number;
  safetyChanges: number;
}

const money = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function priceOf(scan: ScanRecord, symbol: string): number | undefined {
  const i = scan.assets.indexOf(symbol);
  return i < 0 ? undefined : scan.asset_prices[i];
}

function orderWords(o: Order, scan: ScanRecord, safety: SafetyInput | undefined, p: StrategyParams, state: StrategyState): string {
  const vd = velDiv(scan).toFixed(4);
  const posture = safety ? `posture ${safety.posture}, size ×${safety.size_scale.toFixed(2)}` : 'no posture';
  if (o.reason === 'entry') {
    return `SELL ${o.quantity.toFixed(6)} ${o.symbol} at ${money(o.price)} to open a SHORT: vel_div ${vd} ≤ ${p.velDivThreshold} (an instability regime); ${posture}; `
      + `${(p.capitalFraction * 100).toFixed(0)} % of capital ${money(state.capital + o.fee)}; fee ${money(o.fee)}`;
  }
  const why = o.reason === 'take_profit' ? `price fell ${(p.takeProfitPct * 100).toFixed(2)} % below the entry (take-profit)`
    : o.reason === 'stop_loss' ? `price rose ${(p.stopLossPct * 100).toFixed(2)} % above the entry (stop-loss)`
      : `held ${Math.round(p.maxHoldMs / 60_000)} min (max hold)`;
  return `BUY ${o.quantity.toFixed(6)} ${o.symbol} at ${money(o.price)} to close the SHORT: ${why}; realized ${money(o.realized)} after fees`;
}

/**
 * One model over one day of scans, with the live trader's decide(): every order becomes a
 * `buy` or `sell` row (a SHORT opens with a sell), a day without one a single `no_trade` row;
 * each order and each blocked signal is explained in words; the state at the end is where the
 * next day starts.
 */
export function runModelDay(input: ModelDayInput): ModelDayResult & { stats: ModelDayStats } {
  const p = input.params;
  let state = input.startState;
  const positions: PositionRecord[] = [];
  const reasoning: ModelDayResult['reasoning'] = [];
  const stats: ModelDayStats = { scans: input.scans.length, decided: 0, skipped: 0, signals: 0, orders: 0, safetyChanges: 0 };
  let lastSafety: SafetyInput | undefined;
  const row = (action: PositionRecord['action'], scan: ScanRecord | undefined, o: Order | undefined): PositionRecord => {
    const mark = scan ? priceOf(scan, state.position?.symbol ?? p.symbol) : undefined;
    const value = state.capital + unrealized(state, mark);
    const dayStart = state.dayStartEquity || p.initialCapital;
    return {
      action_id: positions.length + 1,
      action,
      symbol: o?.symbol ?? null,
      amount: o?.quantity ?? 0,
      price: o?.price ?? null,
      cash: cents(state.capital),
      portfolio_value: cents(value),
      daily_profit: cents(value - dayStart),
      daily_return_pct: Math.round(((value - dayStart) / dayStart) * 100 * 1e4) / 1e4,
      fee: o?.fee ?? 0,
      realized: o?.realized ?? 0,
      reason: o?.reason ?? null,
      scan_number: scan?.scan_number ?? null,
      ts: isoMicros(scan?.timestamp_ns ?? Date.parse(`${input.date}T23:59:59.999Z`) * 1e6),
      holdings: state.position ? [{ symbol: state.position.symbol, side: state.position.side, quantity: state.position.quantity, entry_price: state.position.entryPrice }] : [],
    };
  };

  for (const scan of input.scans) {
    const safety = input.safetyAt(scan.timestamp_ns);
    if (safety !== lastSafety) stats.safetyChanges++;
    lastSafety = safety;
    const before = state;
    const d = decide(state, scan, { ...(safety ? { safety } : {}), ...(input.exfAt ? { exf: input.exfAt(scan.timestamp_ns) } : {}) }, p);
    if (d.skipped) {
      stats.skipped++;
      continue;
    }
    stats.decided++;
    state = d.state;
    if (d.velDiv <= p.velDivThreshold) stats.signals++;
    for (const o of d.orders) {
      stats.orders++;
      positions.push(row(o.side === 'SELL' ? 'sell' : 'buy', scan, o));
      reasoning.push({ ts: isoMicros(scan.timestamp_ns), scan_number: scan.scan_number, kind: o.reason, message: orderWords(o, scan, safety, p, before) });
    }
    if (d.blocked.length > 0) {
      reasoning.push({ ts: isoMicros(scan.timestamp_ns), scan_number: scan.scan_number, kind: 'entry_blocked', message: `vel_div ${d.velDiv.toFixed(4)} signalled a SHORT, not taken: ${d.blocked.join('; ')}` });
    }
  }
  const last = input.scans.at(-1);
  if (positions.length === 0) positions.push(row('no_trade', last, undefined));
  const endValue = state.capital + unrealized(state, last ? priceOf(last, state.position?.symbol ?? p.symbol) : undefined);
  reasoning.push({
    ts: isoMicros(last?.timestamp_ns ?? Date.parse(`${input.date}T23:59:59.999Z`) * 1e6), scan_number: last?.scan_number ?? null, kind: 'day',
    message: input.scans.length === 0
      ? `no scans archived for ${input.date}: nothing to decide`
      : `${stats.decided} scans decided (${stats.skipped} skipped as already seen), ${stats.signals} signals, ${stats.orders} orders; `
        + `portfolio ${money(endValue)}, cash ${money(state.capital)}${state.position ? `, holding a SHORT of ${state.position.quantity.toFixed(6)} ${state.position.symbol}` : ', flat'}`,
  });
  return { positions, reasoning, toolUsage: [], endState: state, endEquity: cents(endValue), stats };
}
