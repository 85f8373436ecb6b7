import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDolphinError, sampleScan, type ScanRecord } from '@dolphin/core';
import { decide, initialState, strategyParams } from '@dolphin/strategy';
import { dayReport, readLedgerDay } from './day-report.ts';
import { Ledger, type FillRow, type InputRow } from './ledger.ts';

const DAY = '2026-11-24';
const NS = (iso: string) => Date.parse(iso) * 1e6;
let id = 0;
/** A fill as the ledger holds it; capital_after is the cash after the fill's scan. */
const fill = (at: string, side: 'SELL' | 'BUY', fee: number, realized: number, capitalAfter: number, reason = side === 'SELL' ? 'entry' : 'take_profit'): FillRow => ({
  id: ++id, scan_ts_ns: NS(at), scan_number: id, day: at.slice(0, 10), symbol: 'BTCUSDT', side, reason,
  quantity: 0.05, price: 100_000, notional: 5_000, fee, realized, capital_after: capitalAfter,
});
const input = (at: string, posture: 'APEX' | 'STALKER' | 'TURTLE' | 'HIBERNATE', sizeScale = 1): InputRow => ({ fromScanTsNs: NS(at), safety: { posture, size_scale: sizeScale, ts: at } });

describe('dayReport (pure, over the ledger rows of a day)', () => {
  it('trades, realized PnL, fees, the drawdown of cash equity through the day, and the posture changes', () => {
    const fills = [
      fill('2026-11-23T22:00:00Z', 'SELL', 2, 0, 24_998), // the day before: where the day starts
      fill('2026-11-24T01:00:00Z', 'BUY', 2, 30, 25_028), // closes yesterday's position: +30 after both fees
      fill('2026-11-24T02:00:00Z', 'SELL', 2, 0, 25_026),
      fill('2026-11-24T03:00:00Z', 'BUY', 2, -104, 24_924, 'stop_loss'), // the trough: 25_028 → 24_924
      fill('2026-11-24T04:00:00Z', 'SELL', 2, 0, 24_922),
      fill('2026-11-24T05:00:00Z', 'BUY', 2, 60, 24_986),
    ];
    const inputs = [
      input('2026-11-23T20:00:00Z', 'APEX'),
      input('2026-11-24T02:30:00Z', 'APEX'), // the same posture, a newer safety value: not a change
      input('2026-11-24T06:00:00Z', 'TURTLE', 0.5),
      input('2026-11-24T09:00:00Z', 'APEX'),
      input('2026-11-25T00:00:00Z', 'HIBERNATE'), // the next day: not this one's
    ];
    const r = dayReport(DAY, { fills, inputs });
    expect(r.date).toBe(DAY);
    expect(r.trades).toBe(3); // closed trades (exits)
    expect(r.entries).toBe(2);
    expect(r.fills.map((f) => `${f.at.slice(11, 16)} ${f.side} ${f.reason}`)).toEqual(['01:00 BUY take_profit', '02:00 SELL entry', '03:00 BUY stop_loss', '04:00 SELL entry', '05:00 BUY take_profit']);
    expect(r.realized_pnl).toBeCloseTo(30 - 104 + 60, 9);
    expect(r.fees).toBeCloseTo(10, 9);
    expect(r.capital_start).toBe(24_998);
    expect(r.capital_end).toBe(24_986);
    expect(r.max_drawdown).toBeCloseTo(25_028 - 24_922, 9); // peak 25,028 (01:00), trough 24,922 (04:00)
    expect(r.max_drawdown_pct).toBeCloseTo(((25_028 - 24_922) / 25_028) * 100, 9);
    expect(r.posture_at_start).toEqual({ posture: 'APEX', size_scale: 1 });
    expect(r.posture_changes).toEqual([
      { at: '2026-11-24T06:00:00.000Z', from: 'APEX', to: 'TURTLE', size_scale: 0.5 },
      { at: '2026-11-24T09:00:00.000Z', from: 'TURTLE', to: 'APEX', size_scale: 1 },
    ]);
  });

  it('a first day: the capital before its first entry is the capital after it plus its fee; a quiet day is all zeros', () => {
    const first = dayReport(DAY, { fills: [fill('2026-11-24T10:00:00Z', 'SELL', 2, 0, 24_998), fill('2026-11-24T11:00:00Z', 'BUY', 2, -50, 24_950)], inputs: [] });
    expect(first.capital_start).toBe(25_000);
    expect(first.max_drawdown).toBeCloseTo(50, 9);
    expect(first.posture_at_start).toBeNull();
    expect(first.posture_changes).toEqual([]);
    const quiet = dayReport(DAY, { fills: [fill('2026-11-20T10:00:00Z', 'BUY', 1, 5, 25_100)], inputs: [input('2026-11-24T12:00:00Z', 'STALKER', 0.7)] });
    expect(quiet).toMatchObject({ trades: 0, entries: 0, fills: [], realized_pnl: 0, fees: 0, capital_start: 25_100, capital_end: 25_100, max_drawdown: 0, max_drawdown_pct: 0 });
    // The first posture ever recorded, during the day, is a change from none.
    expect(quiet.posture_changes).toEqual([{ at: '2026-11-24T12:00:00.000Z', from: null, to: 'STALKER', size_scale: 0.7 }]);
    const empty = dayReport(DAY, { fills: [], inputs: [] });
    expect(empty).toMatchObject({ trades: 0, capital_start: null, capital_end: null, max_drawdown: 0 });
  });
});

describe('readLedgerDay (a real ledger file, read-only)', () => {
  const P = strategyParams();
  /** A scan at `at` (UTC) with BTC at `price` and a velocity divergence `vd` (≤ -0.02 opens a SHORT). */
  const scan = (s: number, at: string, price: number, vd: number): ScanRecord =>
    ({ ...sampleScan, scan_number: s, timestamp_ns: NS(at), w50_velocity: vd, w150_velocity: 0, assets: ['BTCUSDT'], asset_prices: [price] }) as ScanRecord;

  it('gives the rows a report of the day needs, while the trader holds the ledger open; the report matches the trader\'s day totals', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ledger-')), 'event-trader.db');
    const ledger = new Ledger(file);
    let s = initialState(P);
    // The day before: an entry and its exit; this day: a losing and a winning round trip, the
    // posture changing between them (TURTLE, then STALKER: half size); the day after: one more entry.
    const steps: Array<[ScanRecord, 'APEX' | 'TURTLE' | 'STALKER']> = [
      [scan(1, '2026-11-23T10:00:00Z', 100_000, -0.03), 'APEX'], [scan(2, '2026-11-23T10:01:00Z', 98_000, 0), 'APEX'],
      [scan(3, `${DAY}T10:00:00Z`, 100_000, -0.03), 'APEX'], [scan(4, `${DAY}T10:01:00Z`, 101_500, 0), 'APEX'],
      [scan(5, `${DAY}T11:00:00Z`, 100_000, 0), 'TURTLE'],
      [scan(6, `${DAY}T12:00:00Z`, 100_000, -0.03), 'STALKER'], [scan(7, `${DAY}T12:01:00Z`, 98_000, 0), 'STALKER'],
      [scan(8, '2026-11-25T10:00:00Z', 100_000, -0.03), 'STALKER'],
    ];
    let recorded = '';
    for (const [sc, posture] of steps) {
      const sf = { posture, size_scale: 1, ts: new Date(sc.timestamp_ns / 1e6).toISOString() };
      const d = decide(s, sc, { safety: sf }, P);
      ledger.commit(d.state, d.orders, P.algoVersion, 'x', recorded !== posture ? sf : undefined);
      recorded = posture;
      s = d.state;
    }
    const rows = readLedgerDay(file, DAY);
    const r = dayReport(DAY, rows);
    const totals = ledger.totals(DAY);
    expect(r.trades).toBe(totals.trades);
    expect(r.trades).toBe(2);
    expect(r.realized_pnl).toBeCloseTo(totals.realized, 9);
    expect(r.fees).toBeCloseTo(totals.fees, 9);
    expect(r.fills.every((f) => f.at.startsWith(DAY))).toBe(true);
    expect(r.capital_start).toBe(rows.fills.find((f) => f.day < DAY)?.capital_after);
    expect(r.max_drawdown).toBeGreaterThan(0); // the first round trip of the day lost
    expect(r.posture_at_start).toEqual({ posture: 'APEX', size_scale: 1 });
    expect(r.posture_changes.map((c) => `${c.at.slice(11, 16)} ${c.from}→${c.to}`)).toEqual(['11:00 APEX→TURTLE', '12:00 TURTLE→STALKER']);
    expect(r.fills.map((f) => `${f.side}:${f.reason}`)).toEqual(['SELL:entry', 'BUY:stop_loss', 'SELL:entry', 'BUY:take_profit']);
    ledger.close();
  });

  it('a ledger that is not there is said plainly, naming the file', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ledger-')), 'event-trader.db');
    let caught: unknown;
    try {
      readLedgerDay(file, DAY);
    } catch (err) {
      caught = err;
    }
    expect(isDolphinError(caught, 'DOLPHIN_TRADER_LEDGER_MISSING')).toBe(true);
    expect((caught as Error).message).toContain(file);
    // Nor is a file that is not a ledger read as an empty day.
    writeFileSync(file, 'not sqlite');
    expect(() => readLedgerDay(file, DAY)).toThrow();
  });
});
