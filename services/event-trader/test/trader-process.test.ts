import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { featureScanSchema, isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type ScanRecord } from '@dolphin/core';
import { connect, freePort, openMap, REPO_ROOT, startMember } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { HistoryAppender, HISTORY_RINGBUFFER, ScanBridge } from '@dolphin/scan-bridge';
import { hazelcastSettings, spawnCollecting, testLogger, testSeal, waitFor, type SpawnedProcess } from '@dolphin/test-support';
import { Ledger } from '../src/index.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, maxHoldMs: 5_000, cooldownAfterStopMs: 2_000, takeProfitPct: 0.008, stopLossPct: 0.006 };
const BASE_NS = Date.UTC(2026, 10, 24, 9, 0, 0) * 1e6;
const N = 40;

/** The same 40 scans for every run: fixed times, a price path with rallies and drops, regular signals. */
function scans(): ScanRecord[] {
  const gen = new ScanGenerator({ seed: 77 });
  return Array.from({ length: N }, (_, i) => {
    const s = gen.next(BASE_NS + i * 1e9);
    const btc = s.assets.indexOf('BTCUSDT');
    const price = 100_000 * (1 + 0.012 * Math.sin(i / 2.5));
    return { ...s, w50_velocity: s.w150_velocity + (i % 5 === 1 ? -0.03 : 0.01), asset_prices: s.asset_prices.map((p, j) => (j === btc ? price : p)) } as ScanRecord;
  });
}

interface RunResult {
  fills: Array<Record<string, unknown>>;
  capital: number;
}

/** One run: a fresh member, the bridge in this process, the trader as its own process. */
async function run(killAfter?: number): Promise<RunResult> {
  const port = await freePort();
  const clusterName = `trader-kill-${port}`;
  const logger = testLogger('trader-process');
  const member = await startMember({ port, clusterName, heapMb: 256, logger });
  cleanups.push(() => member.stop(10_000));
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-trader-kill-'));
  // The trader refuses what Dolphin did not seal: the test's bridge and safety writes are sealed with its key.
  const { keyFile, seal } = testSeal(root);
  const conn = await connect({ settings: hazelcastSettings(clusterName, [member.address]), logger, firstConnectTimeoutMs: 30_000, seal });
  cleanups.push(() => conn.shutdown());
  const scanDir = path.join(root, 'scans');
  const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
  const history = new HistoryAppender(await conn.client.getRingbuffer<string>(HISTORY_RINGBUFFER), logger, 64, 1);
  const bridge = new ScanBridge({
    scanDir, stateDir: path.join(root, 'bridge'), quarantineDir: path.join(root, 'q'), settleMs: 2_000, catchUpMax: 1_000, source: 'test', logger,
    seal: (t) => features.sealEncoded(Keys.LATEST_EIGEN_SCAN, t),
    publish: (t) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, t), appendHistory: (t) => history.append(t), flushHistory: () => history.flush(),
  });
  await bridge.start();
  cleanups.push(() => bridge.stop());
  await (await openMap(conn, MapNames.SAFETY, safetySchema)).set(Keys.SAFETY_LATEST, { posture: 'APEX', size_scale: 1, reasons: [], ts: isoMicros(BASE_NS) });

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
  const decidedUpTo = async () => (await stateMap.get(Keys.STATE_LATEST))?.last_scan_number ?? 0;

  let trader = startTrader();
  await ready(trader);
  const rows = scans();
  for (const [i, row] of rows.entries()) {
    writeScanFile(scanFilePath(scanDir, row.scan_number, row.timestamp_ns), encodeScans([row]), 'rename');
    await new Promise((r) => setTimeout(r, 40));
    if (killAfter !== undefined && i === killAfter) {
      await waitFor(async () => (await decidedUpTo()) >= rows[killAfter]!.scan_number, 'the trader to reach the kill point');
      process.kill(trader.child.pid as number, 'SIGKILL');
      await trader.exited;
    }
    if (killAfter !== undefined && i === killAfter + 10) {
      trader = startTrader(); // ten scans were published while it was dead
      await ready(trader);
    }
  }
  await waitFor(async () => (await decidedUpTo()) === rows.at(-1)!.scan_number, 'the last scan decided', 30_000);
  if (killAfter !== undefined) {
    // The restarted trader found what it missed (in the scan files and the history) and decided it in order.
    const caughtUp = trader.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('missed while the trader was down'));
    expect(caughtUp?.scans).toBeGreaterThanOrEqual(5);
  }
  process.kill(trader.child.pid as number, 'SIGTERM');
  expect((await trader.exited).code).toBe(0);
  const ledger = new Ledger(path.join(stateDir, 'event-trader.db'));
  const result = {
    fills: ledger.fills().map(({ id: _id, capital_after: _c, ...f }) => f),
    capital: ledger.state()!.capital,
  };
  ledger.close();
  return result;
}

describe('event-trader process', () => {
  it('killed with SIGKILL between scans and restarted: no trade lost, none doubled, the same capital as a run without the kill', async () => {
    const clean = await run();
    expect(clean.fills.length).toBeGreaterThanOrEqual(4); // the series trades: entries and exits
    expect(new Set(clean.fills.map((f) => f.reason))).toContain('entry');
    const killed = await run(14);
    expect(killed.fills).toEqual(clean.fills);
    expect(killed.capital).toBe(clean.capital);
  });
});
