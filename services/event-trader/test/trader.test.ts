import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dailyPnlSchema, featureScanSchema, isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type Posture, type ScanRecord } from '@dolphin/core';
import { openMap, type HzConnection, type TypedMap } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { ScanBridge } from '@dolphin/scan-bridge';
import { strategyParams } from '@dolphin/strategy';
import { startTestMember, testLogger, waitFor, type TestMember } from '@dolphin/test-support';
import { Ledger } from '@dolphin/ledger';
import { attachTraderListeners, EventTrader } from '../src/index.ts';

let member: TestMember;
let conn: HzConnection;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
beforeAll(async () => {
  member = await startTestMember();
  conn = await member.client();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const m of [MapNames.FEATURES, MapNames.SAFETY, MapNames.STATE_BLUE, MapNames.PNL_BLUE]) await (await conn.client.getMap(m)).clear();
});
afterAll(async () => {
  await member?.stop();
});

const P = strategyParams({ initialCapital: 10_000, capitalFraction: 0.5, takeProfitPct: 0.01, stopLossPct: 0.005 });

/** The live path of `dolphin up` in one process: scan files → bridge → map → listener → trader. */
async function rig() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-trader-'));
  const scanDir = path.join(root, 'scans');
  const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
  const bridge = new ScanBridge({
    scanDir, stateDir: path.join(root, 'bridge'), quarantineDir: path.join(root, 'q'), settleMs: 2_000, catchUpMax: 1_000, source: 'test',
    logger: testLogger('scan-bridge'), publish: (t) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, t),
  });
  await bridge.start();
  cleanups.push(() => bridge.stop());
  const ledger = new Ledger(path.join(root, 'trader', 'event-trader.db'));
  cleanups.push(() => ledger.close());
  const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
  const pnlMap = await openMap(conn, MapNames.PNL_BLUE, dailyPnlSchema);
  let decided = 0;
  const trader = new EventTrader({
    params: P, ledger, logger: testLogger('event-trader'),
    writeState: (v) => stateMap.set(Keys.STATE_LATEST, v), writePnl: (d, v) => pnlMap.set(d, v),
    onDecision: () => { decided++; },
  });
  const listeners = await attachTraderListeners(conn, trader);
  cleanups.push(() => listeners.close());
  const safetyMap = await openMap(conn, MapNames.SAFETY, safetySchema);
  const gen = new ScanGenerator({ seed: 5 });
  return {
    ledger, stateMap, pnlMap, trader,
    /** STATE_BLUE once it reflects the decision on `scan`. */
    decisionOn: (scan: ScanRecord) => waitFor(async () => {
      const v = await stateMap.get(Keys.STATE_LATEST);
      return v?.last_scan_number === scan.scan_number ? v : undefined;
    }, `the decision on scan ${scan.scan_number} in STATE_BLUE`),
    decided: () => decided,
    setSafety: (posture: Posture, ageMs = 0) => safetyMap.set(Keys.SAFETY_LATEST, { posture, size_scale: 1, reasons: [], ts: isoMicros((Date.now() - ageMs) * 1e6) }),
    /** Writes a scan file with BTCUSDT at `price` and the given vel_div. */
    scan(price: number, velDiv: number): ScanRecord {
      const ns = Date.now() * 1e6;
      const s = gen.next(ns);
      const btc = s.assets.indexOf('BTCUSDT');
      const row = { ...s, w50_velocity: s.w150_velocity + velDiv, asset_prices: s.asset_prices.map((p, i) => (i === btc ? price : p)) } as ScanRecord;
      writeScanFile(scanFilePath(scanDir, row.scan_number, ns), encodeScans([row]), 'rename');
      return row;
    },
  };
}

describe('event trader (real member, bridge and trader together)', () => {
  it('a scan with vel_div ≤ −0.02 opens a SHORT in the ledger and STATE_BLUE; a later scan exits; PNL_BLUE matches the ledger to the cent', async () => {
    const r = await rig();
    await r.setSafety('APEX');
    await waitFor(async () => (await r.stateMap.get(Keys.STATE_LATEST)) === undefined, 'a clean state map');
    const entry = r.scan(100_000, -0.03);
    const opened = await r.decisionOn(entry);
    expect(opened.open_positions).toHaveLength(1);
    expect(opened.open_positions[0]).toMatchObject({ symbol: 'BTCUSDT', side: 'SHORT' });
    expect(r.ledger.fills().map((f) => `${f.side}:${f.reason}`)).toEqual(['SELL:entry']);

    await new Promise((res) => setTimeout(res, 5)); // a later scan time
    const exit = r.scan(98_000, 0);
    const closed = await r.decisionOn(exit);
    expect(closed.open_positions).toHaveLength(0);
    const fills = r.ledger.fills();
    expect(fills.map((f) => `${f.side}:${f.reason}`)).toEqual(['SELL:entry', 'BUY:take_profit']);

    const day = new Date().toISOString().slice(0, 10);
    const pnl = await waitFor(() => r.pnlMap.get(day), 'PNL_BLUE for today');
    const realized = fills.reduce((sum, f) => sum + f.realized, 0);
    expect(pnl.realized_pnl).toBe(Math.round(realized * 100) / 100);
    expect(pnl.trades).toBe(1);
    expect(pnl.capital).toBe(Math.round(r.ledger.state()!.capital * 100) / 100);
    expect(pnl.capital).toBe(closed.capital);
    expect(realized).toBeGreaterThan(0); // a 2 % fall on a SHORT, after fees and slippage
  });

  it('posture HIBERNATE blocks entries, and says so in the state', async () => {
    const r = await rig();
    await r.setSafety('HIBERNATE');
    const s = r.scan(100_000, -0.05);
    const state = await r.decisionOn(s);
    expect(state.open_positions).toHaveLength(0);
    expect(state.entry_blocked).toContain('posture HIBERNATE opens nothing');
    expect(r.ledger.fills()).toHaveLength(0);
  });

  it('a stale safety posture blocks entries', async () => {
    const r = await rig();
    await r.setSafety('APEX', 10 * 60_000);
    const s = r.scan(100_000, -0.05);
    const state = await r.decisionOn(s);
    expect(state.open_positions).toHaveLength(0);
    expect(JSON.stringify(state.entry_blocked)).toMatch(/safety posture is stale \(6\d\d s old\)/);
  });
});
