import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleScan, type ScanRecord } from '@dolphin/core';
import { decide, initialState, strategyParams } from '@dolphin/strategy';
import { Ledger } from './ledger.ts';

const P = strategyParams();
const T0 = Date.UTC(2026, 10, 24, 10) * 1e6;
const scan = (s: number, price: number, vd: number): ScanRecord =>
  ({ ...sampleScan, scan_number: s, timestamp_ns: T0 + s * 1e9, w50_velocity: vd, w150_velocity: 0, assets: ['BTCUSDT'], asset_prices: [price] }) as ScanRecord;
const safety = { safety: { posture: 'APEX' as const, size_scale: 1, ts: new Date(T0 / 1e6).toISOString() } };

describe('ledger (real SQLite file)', () => {
  it('commits state and fills together and gives them back after reopening', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ledger-')), 'trader.db');
    const ledger = new Ledger(file);
    expect(ledger.state()).toBeUndefined();
    let s = initialState(P);
    for (const [n, price, vd] of [[1, 100_000, -0.03], [2, 98_000, 0]] as const) {
      const d = decide(s, scan(n, price, vd), safety, P);
      ledger.commit(d.state, d.orders, P.algoVersion, '2026-11-24T10:00:00.000000Z');
      s = d.state;
    }
    ledger.close();
    const reopened = new Ledger(file);
    expect(reopened.state()).toEqual(s);
    const fills = reopened.fills();
    expect(fills.map((f) => `${f.side}:${f.reason}`)).toEqual(['SELL:entry', 'BUY:take_profit']);
    const totals = reopened.totals('2026-11-24');
    expect(totals.trades).toBe(1);
    expect(totals.realized).toBeCloseTo(s.capital - P.initialCapital, 9);
    reopened.close();
  });

  it('refuses the same fill twice and rolls the whole scan back', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ledger-')), 'trader.db');
    const ledger = new Ledger(file);
    const d = decide(initialState(P), scan(1, 100_000, -0.03), safety, P);
    ledger.commit(d.state, d.orders, P.algoVersion, 'x');
    const later = { ...d.state, lastScanNumber: 99 };
    expect(() => ledger.commit(later, d.orders, P.algoVersion, 'y')).toThrow(/UNIQUE/);
    expect(ledger.state()?.lastScanNumber).toBe(1); // the failed commit left nothing behind
    expect(ledger.fills()).toHaveLength(1);
    ledger.close();
  });

  it('records the inputs each time they change, readable by another reader while open', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ledger-')), 'trader.db');
    const ledger = new Ledger(file);
    let s = initialState(P);
    const postures = [safety.safety, safety.safety, { ...safety.safety, posture: 'TURTLE' as const, size_scale: 0.5 }];
    for (const [i, sf] of postures.entries()) {
      const d = decide(s, scan(i + 1, 100_000, 0), { safety: sf }, P);
      ledger.commit(d.state, d.orders, P.algoVersion, 'x', i === 1 ? undefined : sf);
      s = d.state;
    }
    expect(Ledger.readInputs(file)).toEqual([
      { fromScanTsNs: T0 + 1e9, safety: safety.safety },
      { fromScanTsNs: T0 + 3e9, safety: { ...safety.safety, posture: 'TURTLE', size_scale: 0.5 } },
    ]);
    ledger.close();
  });
});
