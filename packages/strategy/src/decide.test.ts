import { describe, expect, it } from 'vitest';
import { sampleScan, type ScanRecord } from '@dolphin/core';
import { decide, initialState, strategyParams, fill, type DecisionInputs, type StrategyState } from './index.ts';

const P = strategyParams({ initialCapital: 10_000, capitalFraction: 0.5, feeBps: 10, slippageBps: 5, takeProfitPct: 0.01, stopLossPct: 0.005, maxHoldMs: 60_000, cooldownAfterStopMs: 120_000, dailyMaxDrawdownPct: 0.02 });
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0) * 1e6;
const sec = (n: number) => T0 + n * 1e9;

/** A scan at `tsNs` with BTCUSDT at `price` and the given vel_div. */
function scan(tsNs: number, price: number, velDiv = 0, n = 1): ScanRecord {
  return { ...sampleScan, scan_number: n, timestamp_ns: tsNs, w50_velocity: velDiv, w150_velocity: 0, assets: ['BTCUSDT', 'ETHUSDT'], asset_prices: [price, 3_000] } as ScanRecord;
}
const safety = (posture: 'APEX' | 'STALKER' | 'TURTLE' | 'HIBERNATE' = 'APEX', size_scale = 1, atNs = T0): DecisionInputs => ({ safety: { posture, size_scale, ts: new Date(atNs / 1e6).toISOString() } });

function entered(state: StrategyState = initialState(P), price = 100_000, inputs = safety()) {
  const d = decide(state, scan(sec(1), price, -0.03), inputs, P);
  expect(d.orders.map((o) => o.reason)).toEqual(['entry']);
  return d;
}

describe('decide: entries and sizing', () => {
  it('opens a SHORT when vel_div ≤ threshold, sized capital × fraction × size_scale × posture multiplier', () => {
    const d = entered(initialState(P), 100_000, safety('APEX', 0.8));
    const o = d.orders[0]!;
    expect(o.side).toBe('SELL');
    expect(o.notional).toBeCloseTo(10_000 * 0.5 * 0.8 * 1, 6);
    expect(o.price).toBeCloseTo(100_000 * (1 - 5 / 10_000), 6); // sells below the scan price
    expect(o.fee).toBeCloseTo(o.notional * 10 / 10_000, 9);
    expect(d.state.position).toMatchObject({ side: 'SHORT', symbol: 'BTCUSDT', entryPrice: o.price });
    expect(d.state.capital).toBeCloseTo(10_000 - o.fee, 9);
  });

  it('STALKER halves the size (its default multiplier)', () => {
    const d = decide(initialState(P), scan(sec(1), 100_000, -0.03), safety('STALKER', 1), P);
    expect(d.orders[0]!.notional).toBeCloseTo(10_000 * 0.5 * 0.5, 6);
  });

  it('no entry above the threshold, and exactly at it an entry', () => {
    expect(decide(initialState(P), scan(sec(1), 100_000, -0.019), safety(), P).orders).toHaveLength(0);
    expect(decide(initialState(P), scan(sec(1), 100_000, -0.02), safety(), P).orders).toHaveLength(1);
  });

  it('HIBERNATE opens nothing; TURTLE opens nothing but exits', () => {
    expect(decide(initialState(P), scan(sec(1), 100_000, -0.05), safety('HIBERNATE'), P).blocked).toContain('posture HIBERNATE opens nothing');
    const turtle = decide(initialState(P), scan(sec(1), 100_000, -0.05), safety('TURTLE'), P);
    expect(turtle.orders).toHaveLength(0);
    expect(turtle.blocked).toContain('posture TURTLE only exits');
    const open = entered();
    const exit = decide(open.state, scan(sec(2), 98_000, -0.05), safety('TURTLE'), P);
    expect(exit.orders.map((o) => o.reason)).toEqual(['take_profit']);
  });

  it('missing or stale safety: no new entries, said in words', () => {
    expect(decide(initialState(P), scan(sec(1), 100_000, -0.05), {}, P).blocked).toEqual(['no safety posture received yet']);
    const stale = decide(initialState(P), scan(sec(300), 100_000, -0.05), safety('APEX', 1, T0), P);
    expect(stale.orders).toHaveLength(0);
    expect(stale.blocked.join()).toMatch(/safety posture is stale \(300 s old\)/);
  });

  it('size_scale 0 opens nothing; a symbol missing from the scan opens nothing', () => {
    expect(decide(initialState(P), scan(sec(1), 100_000, -0.05), safety('APEX', 0), P).orders).toHaveLength(0);
    const noBtc = { ...scan(sec(1), 100_000, -0.05), assets: ['ETHUSDT'], asset_prices: [3_000] } as ScanRecord;
    expect(decide(initialState(P), noBtc, safety(), P).blocked).toContain('BTCUSDT is not in the scan');
  });

  it('one position at a time', () => {
    const open = entered();
    const again = decide(open.state, scan(sec(2), 100_000, -0.05), safety(), P);
    expect(again.orders).toHaveLength(0);
    expect(again.blocked).toContain('a position is already open');
  });
});

describe('decide: exits', () => {
  it('take-profit when the price falls takeProfitPct below the entry; PnL counts both legs’ fees and slippage', () => {
    const open = entered();
    const pos = open.state.position!;
    const exitScanPrice = pos.entryPrice * (1 - 0.01);
    const d = decide(open.state, scan(sec(2), exitScanPrice), safety(), P);
    const o = d.orders[0]!;
    expect(o).toMatchObject({ reason: 'take_profit', side: 'BUY' });
    const expectedFill = fill('BUY', pos.quantity, exitScanPrice, 10, 5);
    expect(o.price).toBeCloseTo(expectedFill.price, 6);
    const gross = (pos.entryPrice - expectedFill.price) * pos.quantity;
    expect(o.realized).toBeCloseTo(gross - expectedFill.fee - pos.entryFee, 6);
    expect(d.state.position).toBeNull();
    expect(d.state.capital).toBeCloseTo(10_000 + o.realized, 6);
    expect(d.state.tradesToday).toBe(1);
  });

  it('stop-loss when the price rises stopLossPct above the entry, then a cooldown before the next entry', () => {
    const open = entered();
    const sl = decide(open.state, scan(sec(2), open.state.position!.entryPrice * 1.005), safety(), P);
    expect(sl.orders.map((o) => o.reason)).toEqual(['stop_loss']);
    expect(sl.orders[0]!.realized).toBeLessThan(0);
    const during = decide(sl.state, scan(sec(60), 100_000, -0.05), safety('APEX', 1, sec(60)), P);
    expect(during.blocked).toContain('cooling down after a stop-loss');
    const after = decide(sl.state, scan(sec(123), 100_000, -0.05), safety('APEX', 1, sec(123)), P);
    expect(after.orders.map((o) => o.reason)).toEqual(['entry']);
  });

  it('max hold closes the position after maxHoldMs of scan time', () => {
    const open = entered();
    expect(decide(open.state, scan(sec(60), 100_000), safety(), P).orders).toHaveLength(0); // 59 s held
    expect(decide(open.state, scan(sec(61), 100_000), safety(), P).orders.map((o) => o.reason)).toEqual(['max_hold']);
  });

  it('stop-loss wins when several exits apply at once', () => {
    const open = entered();
    const d = decide(open.state, scan(sec(600), open.state.position!.entryPrice * 1.01), safety(), P);
    expect(d.orders.map((o) => o.reason)).toEqual(['stop_loss']);
  });

  it('no entry on the scan that exits, and it says why', () => {
    const open = entered();
    const d = decide(open.state, scan(sec(2), 90_000, -0.05), safety(), P);
    expect(d.orders.map((o) => o.reason)).toEqual(['take_profit']);
    expect(d.state.position).toBeNull();
    expect(d.blocked).toContain('a position was closed on this scan');
  });

  it('exits price the position’s own symbol, even after the traded symbol changed', () => {
    const open = entered();
    const ethParams = { ...P, symbol: 'ETHUSDT' };
    const d = decide(open.state, scan(sec(2), open.state.position!.entryPrice * 1.01), safety(), ethParams);
    expect(d.orders.map((o) => `${o.symbol}:${o.reason}`)).toEqual(['BTCUSDT:stop_loss']);
  });
});

describe('decide: risk locks and order', () => {
  it('the daily drawdown stops new entries for the rest of the UTC day, and the next day lifts it', () => {
    let s = initialState(P);
    // Lose ≥ 2 % of the day's equity through stop-losses.
    let t = 1;
    while (!s.dayLocked) {
      const open = decide(s, scan(sec(t), 100_000, -0.05, t), safety('APEX', 1, sec(t)), { ...P, cooldownAfterStopMs: 0 });
      const loss = decide(open.state, scan(sec(t + 1), 120_000, 0, t + 1), safety('APEX', 1, sec(t + 1)), P);
      s = loss.state;
      t += 2;
      expect(t).toBeLessThan(100);
    }
    const locked = decide(s, scan(sec(t + 200), 100_000, -0.05), safety('APEX', 1, sec(t + 200)), P);
    expect(locked.blocked.join()).toMatch(/daily drawdown limit \(2 %\) reached/);
    const nextDay = T0 + 86_400e9;
    const fresh = decide(s, scan(nextDay, 100_000, -0.05), safety('APEX', 1, nextDay), P);
    expect(fresh.orders.map((o) => o.reason)).toEqual(['entry']);
    expect(fresh.state.tradesToday).toBe(0);
  });

  it('a duplicate or older scan changes nothing', () => {
    const open = entered();
    expect(decide(open.state, scan(sec(1), 50_000, -0.1), safety(), P)).toMatchObject({ orders: [], skipped: 'duplicate', state: open.state });
    expect(decide(open.state, scan(sec(0), 50_000, -0.1), safety(), P)).toMatchObject({ orders: [], skipped: 'older', state: open.state });
  });

  it('is deterministic: the same scans and inputs give the same decisions and state', () => {
    const run = () => {
      let s = initialState(P);
      const out: unknown[] = [];
      for (let i = 0; i < 500; i++) {
        const price = 100_000 * (1 + 0.02 * Math.sin(i / 7));
        const d = decide(s, scan(sec(i + 1), price, -0.03 * Math.cos(i / 5), i + 1), safety('APEX', 0.9, sec(i + 1)), P);
        out.push(d.orders);
        s = d.state;
      }
      return { out, s };
    };
    expect(run()).toEqual(run());
  });
});

describe('strategy parameters', () => {
  it('have documented defaults and refuse a bad value naming the field', () => {
    const d = strategyParams();
    expect(d).toMatchObject({ velDivThreshold: -0.02, symbol: 'BTCUSDT', postureMultipliers: { APEX: 1, STALKER: 0.5, TURTLE: 0, HIBERNATE: 0 } });
    expect(() => strategyParams({ velDivThreshold: 0.5 })).toThrow(/velDivThreshold/);
    expect(() => strategyParams({ stoploss: 1 })).toThrow(/stoploss/);
  });
});

describe('decide: implausible inputs', () => {
  it('a scan with BTCUSDT at 1.00 does not close an open SHORT at that price: held, with the reason', () => {
    const open = entered();
    const forged = decide(open.state, scan(sec(2), 1.0, 0, 2), safety(), P);
    expect(forged.orders).toEqual([]);
    expect(forged.state.position).not.toBeNull();
    expect(forged.state.capital).toBe(open.state.capital);
    expect(forged.blocked.join()).toMatch(/BTCUSDT at 1 is 100\.0 % from its last accepted price 100000 \(limit 20\.0 %\): held/);
    // The next real scan trades on as before: the reference is still the last real price.
    const next = decide(forged.state, scan(sec(3), 100_050, 0, 3), safety(), P);
    expect(next.blocked).toEqual([]);
    expect(next.state.refPrices.BTCUSDT).toBe(100_050);
  });

  it('a real move beyond the limit is followed once priceConfirmScans scans in a row agree', () => {
    let s = entered().state;
    const reasons: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const d = decide(s, scan(sec(2 + i), 130_000 + i * 10, 0, 2 + i), safety(), P);
      reasons.push(d.orders.map((o) => o.reason));
      s = d.state;
    }
    expect(reasons).toEqual([[], [], ['stop_loss']]); // held twice, then the stop-loss at the new level
    expect(s.refPrices.BTCUSDT).toBe(130_020);
  });
});
