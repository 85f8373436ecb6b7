import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { featureScanSchema, isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type ScanRecord } from '@dolphin/core';
import { connect, freePort, openMap, REPO_ROOT, startMember } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { ScanBridge } from '@dolphin/scan-bridge';
import { hazelcastSettings, spawnCollecting, testLogger, testSeal, waitFor } from '@dolphin/test-support';
import { Ledger } from '../src/index.ts';

// Any local process can write the member's maps (Hazelcast Community has no authentication).
// What it writes without Dolphin's key is refused; what Dolphin wrote but cannot be so is too.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, takeProfitPct: 0.01, stopLossPct: 0.02, cooldownAfterStopMs: 0 };

describe('event-trader: forged and implausible values', () => {
  it('a forged scan (BTCUSDT at 1.00, or a year ahead), a forged HIBERNATE and a safety from 2099 change nothing; an authentic scan from the future is refused too', async () => {
    const port = await freePort();
    const clusterName = `trader-forged-${port}`;
    const logger = testLogger('trader-forged');
    const member = await startMember({ port, clusterName, heapMb: 256, logger });
    cleanups.push(() => member.stop(10_000));
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-trader-forged-'));
    const { keyFile, seal } = testSeal(root);
    const settings = hazelcastSettings(clusterName, [member.address]);
    const conn = await connect({ settings, logger, firstConnectTimeoutMs: 30_000, seal });
    cleanups.push(() => conn.shutdown());
    // The attacker: a plain client, as any local process can make.
    const evil = await connect({ settings, logger, firstConnectTimeoutMs: 30_000 });
    cleanups.push(() => evil.shutdown());
    const scanDir = path.join(root, 'scans');
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const bridge = new ScanBridge({
      scanDir, stateDir: path.join(root, 'bridge'), quarantineDir: path.join(scanDir, '_quarantine'), settleMs: 1_000, catchUpMax: 1_000, source: 'test', logger,
      seal: (t) => features.sealEncoded(Keys.LATEST_EIGEN_SCAN, t), publish: (t) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, t),
    });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    await (await openMap(conn, MapNames.SAFETY, safetySchema)).set(Keys.SAFETY_LATEST, { posture: 'APEX', size_scale: 1, reasons: [], ts: isoMicros() });

    const trader = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'services/event-trader/src/main.ts')], {
      PATH: process.env.PATH, HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: clusterName,
      DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN_STATE_DIR: path.join(root, 'trader'), DOLPHIN__trader__strategy: JSON.stringify(STRATEGY),
      DOLPHIN__security__keyFile: keyFile, DOLPHIN__scans__dir: scanDir,
    }, { ipc: true });
    cleanups.push(() => trader.cleanup());
    await new Promise<void>((resolve) => trader.child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve()));
    const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
    const decided = (n: number) => waitFor(async () => (await stateMap.get(Keys.STATE_LATEST))?.last_scan_number === n, `scan #${n} decided`);

    // Entries at #3 and #8, a take-profit at #5.
    const gen = new ScanGenerator({ seed: 61 });
    const scan = (n: number): ScanRecord => {
      const s = gen.next(Date.now() * 1e6);
      const btc = s.assets.indexOf('BTCUSDT');
      const price = n === 5 ? 98_900 : 100_000;
      return { ...s, scan_number: n, w50_velocity: s.w150_velocity + (n === 3 || n === 8 ? -0.03 : 0.01), asset_prices: s.asset_prices.map((p, j) => (j === btc ? price : p)) } as ScanRecord;
    };
    const put = async (n: number) => {
      const r = scan(n);
      writeScanFile(scanFilePath(scanDir, r.scan_number, r.timestamp_ns), encodeScans([r]), 'rename');
      await decided(n);
      return r;
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
    const ledger = new Ledger(path.join(root, 'trader', 'event-trader.db'));
    cleanups.push(() => ledger.close());
    // Nothing filled at 1.00, every real scan decided (none skipped as older than a year ahead),
    // and #8 entered under APEX: neither HIBERNATE nor TURTLE was believed.
    expect(ledger.fills().map((f) => `${f.scan_number}:${f.reason}`)).toEqual(['3:entry', '5:take_profit', '8:entry']);
    expect(ledger.state()?.lastScanNumber).toBe(8);
  });
});
