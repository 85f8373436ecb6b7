import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { featureScanSchema, isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type ScanRecord } from '@dolphin/core';
import { connect, freePort, openMap, REPO_ROOT, startMember, type HzConnection, type MemberHandle } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { HistoryAppender, HISTORY_RINGBUFFER, ScanBridge } from '@dolphin/scan-bridge';
import { hazelcastSettings, spawnCollecting, testLogger, testSeal, waitFor, type SpawnedProcess } from '@dolphin/test-support';
import { Ledger } from '../src/index.ts';

// Scans the trader never received: found in the scan files and decided in order, or recorded.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, takeProfitPct: 0.01, stopLossPct: 0.02, cooldownAfterStopMs: 0 };
const N = 40;

/** 40 scans a second apart, ending now: an entry signal at #20 and a drop to its take-profit at #25; nothing else trades. */
function scans(): ScanRecord[] {
  const gen = new ScanGenerator({ seed: 91 });
  const base = Date.now() * 1e6 - N * 1e9;
  return Array.from({ length: N }, (_, i) => {
    const s = gen.next(base + i * 1e9);
    const n = i + 1;
    const btc = s.assets.indexOf('BTCUSDT');
    const price = n >= 25 ? 97_000 : 100_000;
    return { ...s, scan_number: n, w50_velocity: s.w150_velocity + (n === 20 ? -0.03 : 0.01), asset_prices: s.asset_prices.map((p, j) => (j === btc ? price : p)) } as ScanRecord;
  });
}

describe('event-trader: scans it never received', () => {
  it('scans published while the trader was down, then the member restarted (map and history gone): every one is decided in order from the files; three quarantined ones are recorded as a gap with their reason', async () => {
    const port = await freePort();
    const clusterName = `trader-gaps-${port}`;
    const logger = testLogger('trader-gaps');
    let member: MemberHandle = await startMember({ port, clusterName, heapMb: 256, logger });
    cleanups.push(() => member.stop(10_000));
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-trader-gaps-'));
    const { keyFile, seal } = testSeal(root);
    const conn: HzConnection = await connect({ settings: hazelcastSettings(clusterName, [member.address]), logger, firstConnectTimeoutMs: 30_000, seal });
    cleanups.push(() => conn.shutdown());
    const scanDir = path.join(root, 'scans');
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const history = new HistoryAppender(await conn.client.getRingbuffer<string>(HISTORY_RINGBUFFER), logger, 64, 1);
    const bridge = new ScanBridge({
      scanDir, stateDir: path.join(root, 'bridge'), quarantineDir: path.join(scanDir, '_quarantine'), settleMs: 1_000, catchUpMax: 1_000, source: 'test', logger,
      seal: (t) => features.sealEncoded(Keys.LATEST_EIGEN_SCAN, t),
      publish: (t) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, t), appendHistory: (t) => history.append(t), flushHistory: () => history.flush(),
    });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    const safety = () => openMap(conn, MapNames.SAFETY, safetySchema).then((m) => m.set(Keys.SAFETY_LATEST, { posture: 'APEX', size_scale: 1, reasons: [], ts: isoMicros() }));
    await safety();

    const stateDir = path.join(root, 'trader');
    const startTrader = (): SpawnedProcess => {
      const p = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'services/event-trader/src/main.ts')], {
        PATH: process.env.PATH, HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: clusterName,
        DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN_STATE_DIR: stateDir, DOLPHIN__trader__strategy: JSON.stringify(STRATEGY),
        DOLPHIN__security__keyFile: keyFile, DOLPHIN__scans__dir: scanDir,
      }, { ipc: true });
      cleanups.push(() => p.cleanup());
      return p;
    };
    const ready = (p: SpawnedProcess) => new Promise<void>((resolve) => p.child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve()));
    const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
    const state = () => stateMap.get(Keys.STATE_LATEST);
    const rows = scans();
    const put = (r: ScanRecord) => writeScanFile(scanFilePath(scanDir, r.scan_number, r.timestamp_ns), encodeScans([r]), 'rename');

    let trader = startTrader();
    await ready(trader);
    for (const r of rows.slice(0, 10)) {
      put(r);
      await new Promise((res) => setTimeout(res, 30));
    }
    await waitFor(async () => (await state())?.last_scan_number === 10, 'the trader to decide #10');
    process.kill(trader.child.pid as number, 'SIGKILL');
    await trader.exited;

    for (const r of rows.slice(10)) {
      if (r.scan_number >= 15 && r.scan_number <= 17) {
        // Three files nobody can read: the bridge quarantines them, so no source has these scans.
        const f = scanFilePath(scanDir, r.scan_number, r.timestamp_ns);
        mkdirSync(path.dirname(f), { recursive: true });
        writeFileSync(f, 'not a scan file\n');
      } else {
        put(r);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    await waitFor(async () => (await features.get(Keys.LATEST_EIGEN_SCAN))?.scan_number === N, 'the bridge to publish #40');
    await bridge.settle();
    // Then the member restarts, still while the trader is down: the map and the scan history are gone.
    await member.stop(10_000);
    member = await startMember({ port, clusterName, heapMb: 256, logger });
    await waitFor(() => conn.isConnected(), 'the test client to reconnect', 30_000);
    await safety();

    trader = startTrader();
    await ready(trader);
    await waitFor(async () => (await state())?.last_scan_number === N, 'the trader to decide #40', 30_000);
    const filled = await trader.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('missed while the trader was down'), 'the catch-up');
    expect(filled.from_files).toBe(N - 10 - 3); // #11–#40 less the three unreadable
    const gapLine = await trader.waitForLog((l) => l.missing === 3, 'the gap said');
    expect(gapLine.msg).toMatch(/3 scan\(s\) between #14 and #18 could not be decided/);
    const st = await state();
    expect(st?.scans_missed).toBe(3);
    process.kill(trader.child.pid as number, 'SIGTERM');
    expect((await trader.exited).code).toBe(0);

    const ledger = new Ledger(path.join(stateDir, 'event-trader.db'));
    cleanups.push(() => ledger.close());
    // The entry at #20 and its take-profit at #25 were both in the outage: decided, in order.
    expect(ledger.fills().map((f) => `${f.scan_number}:${f.reason}`)).toEqual(['20:entry', '25:take_profit']);
    expect(ledger.tally().decided).toBe(N - 3);
    const gaps = ledger.gaps();
    expect(gaps.map((g) => [g.after_scan_number, g.before_scan_number, g.missing])).toEqual([[14, 18, 3]]);
    expect(gaps[0]!.reason).toMatch(/scan 15 quarantined, DOLPHIN_SCANFILE_NOT_ARROW/);
    expect(gaps[0]!.reason).toMatch(/scan 17 quarantined, DOLPHIN_SCANFILE_NOT_ARROW/);
  });
});
