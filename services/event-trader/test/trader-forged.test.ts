import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isoMicros, Keys, MapNames, safetySchema, type ScanRecord } from '@dolphin/core';
import { connect, openMap } from '@dolphin/hz';
import { ScanGenerator } from '@dolphin/scanfile';
import { hazelcastSettings, testLogger, waitFor } from '@dolphin/test-support';
import { Ledger } from '@dolphin/ledger';
import { traderRig, type TraderRig } from './rig.ts';

// Any local process can write the member's maps (Hazelcast Community has no authentication).
// What it writes without Dolphin's key is refused; what Dolphin wrote but cannot be so is too.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let rig: TraderRig | undefined;
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rig?.cleanup();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, takeProfitPct: 0.01, stopLossPct: 0.02, cooldownAfterStopMs: 0 };

describe('event-trader: forged and implausible values', () => {
  it('a forged scan (BTCUSDT at 1.00, or a year ahead), a forged HIBERNATE and a safety from 2099 change nothing; an authentic scan from the future is refused too', async () => {
    const r = (rig = await traderRig('trader-forged'));
    const { conn, features } = r;
    // The attacker: a plain client, as any local process can make.
    const evil = await connect({ settings: hazelcastSettings(r.member.clusterName, [r.member.address]), logger: testLogger('evil'), firstConnectTimeoutMs: 30_000 });
    cleanups.push(() => evil.shutdown());
    await r.setSafety();
    const trader = await r.startTrader({ stateDir: path.join(r.root, 'trader'), strategy: STRATEGY });
    const decided = (n: number) => waitFor(async () => (await r.state())?.last_scan_number === n, `scan #${n} decided`);

    // Entries at #3 and #8, a take-profit at #5.
    const gen = new ScanGenerator({ seed: 61 });
    const scan = (n: number): ScanRecord => {
      const s = gen.next(Date.now() * 1e6);
      const btc = s.assets.indexOf('BTCUSDT');
      const price = n === 5 ? 98_900 : 100_000;
      return { ...s, scan_number: n, w50_velocity: s.w150_velocity + (n === 3 || n === 8 ? -0.03 : 0.01), asset_prices: s.asset_prices.map((p, j) => (j === btc ? price : p)) } as ScanRecord;
    };
    const put = async (n: number) => {
      const row = scan(n);
      r.put(row);
      await decided(n);
      return row;
    };
    for (const n of [1, 2, 3, 4]) await put(n);

    // The SHORT opened at #3 is open. Forged, as plain JSON:
    const real = (await features.get(Keys.LATEST_EIGEN_SCAN))!;
    const btc = real.assets.indexOf('BTCUSDT');
    const forgedScan = { ...real, _mac: undefined, scan_number: 999_999, timestamp_ns: Date.now() * 1e6, asset_prices: real.asset_prices.map((p, j) => (j === btc ? 1.0 : p)) };
    const evilFeatures = await evil.client.getMap<string, string>(MapNames.FEATURES);
    const evilSafety = await evil.client.getMap<string, string>(MapNames.SAFETY);
    await evilFeatures.set(Keys.LATEST_EIGEN_SCAN, JSON.stringify(forgedScan));
    await evilFeatures.set(Keys.LATEST_EIGEN_SCAN, JSON.stringify({ ...forgedScan, asset_prices: real.asset_prices, timestamp_ns: Date.now() * 1e6 + 365 * 86_400e9 }));
    await evilSafety.set(Keys.SAFETY_LATEST, JSON.stringify({ posture: 'HIBERNATE', size_scale: 0, reasons: ['forged'], ts: isoMicros() }));
    // Authentic (sealed with the key), but from the future: a producer's clock gone wrong.
    await (await openMap(conn, MapNames.SAFETY, safetySchema)).set(Keys.SAFETY_LATEST, { posture: 'TURTLE', size_scale: 0, reasons: ['from 2099'], ts: '2099-01-01T00:00:00.000000Z' });
    const ahead = scan(1_000);
    await features.set(Keys.LATEST_EIGEN_SCAN, { ...real, ...ahead, timestamp_ns: Date.now() * 1e6 + 3_600e9, timestamp: isoMicros(Date.now() * 1e6 + 3_600e9), bridge_ts: isoMicros(), bridge_source: 'test', file: 'ahead.arrow' });
    await trader.waitForLog((l) => l.place === 'DOLPHIN_FEATURES/latest_eigen_scan' && typeof l.refused === 'number', 'the forged scans refused');
    await trader.waitForLog((l) => l.place === 'DOLPHIN_SAFETY/latest', 'the forged posture refused');
    await trader.waitForLog((l) => l.input === 'safety', 'the posture from 2099 refused');
    await trader.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('scan dated'), 'the scan from the future refused');

    for (const n of [5, 6, 7, 8]) await put(n);
    process.kill(trader.child.pid as number, 'SIGTERM');
    expect((await trader.exited).code).toBe(0);
    const ledger = new Ledger(path.join(r.root, 'trader', 'event-trader.db'));
    cleanups.push(() => ledger.close());
    // Nothing filled at 1.00, every real scan decided (none skipped as older than a year ahead),
    // and #8 entered under APEX: neither HIBERNATE nor TURTLE was believed.
    expect(ledger.fills().map((f) => `${f.scan_number}:${f.reason}`)).toEqual(['3:entry', '5:take_profit', '8:entry']);
    expect(ledger.state()?.lastScanNumber).toBe(8);
  });
});
