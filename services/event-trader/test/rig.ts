import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { featureScanSchema, isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type FeatureScan, type Posture, type ScanRecord, type TraderState, type ValueSeal } from '@dolphin/core';
import { connect, freePort, openMap, REPO_ROOT, startMember, type HzConnection, type MemberHandle, type TypedMap } from '@dolphin/hz';
import { encodeScans, ScanGenerator, scanFilePath, writeScanFile } from '@dolphin/scanfile';
import { Ledger, liveLedgerFile, type FillRow } from '@dolphin/ledger';
import { HistoryAppender, HISTORY_RINGBUFFER, ScanBridge } from '@dolphin/scan-bridge';
import { hazelcastSettings, spawnCollecting, testLogger, testSeal, type SpawnedProcess } from '@dolphin/test-support';

/**
 * The live path around a trader process, as `dolphin up` runs it: a member of its own, the scan
 * bridge (in the test's process, sealing with the test's key, appending to the history), the
 * test's own sealed client, and trader processes started on demand with that key and scan folder.
 */
export interface TraderRig {
  root: string;
  scanDir: string;
  keyFile: string;
  seal: ValueSeal;
  member: MemberHandle;
  conn: HzConnection;
  features: TypedMap<FeatureScan>;
  bridge: ScanBridge;
  /** Stops the member and starts a new one on the same port: the maps and histories are gone. */
  restartMember(): Promise<void>;
  setSafety(posture?: Posture, ts?: string): Promise<void>;
  /** A trader process, ready (`prefix`: a command it runs under, e.g. nsenter into a namespace). */
  startTrader(o: { stateDir: string; strategy?: object; prefix?: string[]; env?: Record<string, string> }): Promise<SpawnedProcess>;
  state(): Promise<TraderState | undefined>;
  /** A scan file renamed into place. */
  put(row: ScanRecord): void;
  cleanup(): Promise<void>;
}

export async function traderRig(name: string): Promise<TraderRig> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const port = await freePort();
  const clusterName = `${name}-${port}`;
  const logger = testLogger(name);
  let member = await startMember({ port, clusterName, heapMb: 256, logger });
  cleanups.push(() => member.stop(10_000));
  const root = mkdtempSync(path.join(os.tmpdir(), `dolphin-${name}-`));
  // The trader refuses what Dolphin did not seal: what the test and its bridge write is sealed with its key.
  const { keyFile, seal } = testSeal(root);
  const conn = await connect({ settings: hazelcastSettings(clusterName, [member.address]), logger, firstConnectTimeoutMs: 30_000, seal });
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
  const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
  const rig: TraderRig = {
    root, scanDir, keyFile, seal, get member() { return member; }, conn, features, bridge,
    async restartMember() {
      await member.stop(10_000);
      member = await startMember({ port, clusterName, heapMb: 256, logger });
    },
    async setSafety(posture = 'APEX', ts = isoMicros()) {
      await (await openMap(conn, MapNames.SAFETY, safetySchema)).set(Keys.SAFETY_LATEST, { posture, size_scale: 1, reasons: [], ts });
    },
    async startTrader(o) {
      const main = [process.execPath, path.join(REPO_ROOT, 'services/event-trader/src/main.ts')];
      const [cmd, ...args] = [...(o.prefix ?? []), ...main] as [string, ...string[]];
      const p = spawnCollecting(cmd, args, {
        PATH: process.env.PATH, HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: clusterName,
        DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN_STATE_DIR: o.stateDir, DOLPHIN__trader__strategy: JSON.stringify(o.strategy ?? {}),
        DOLPHIN__security__keyFile: keyFile, DOLPHIN__scans__dir: scanDir, ...o.env,
      }, { ipc: true });
      cleanups.push(() => p.cleanup());
      await new Promise<void>((resolve, reject) => {
        p.child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve());
        void p.exited.then((e) => reject(new Error(`the trader exited before it was ready (${e.code ?? e.signal}): ${p.text.join('\n')}`)));
      });
      return p;
    },
    state: () => stateMap.get(Keys.STATE_LATEST),
    put: (row) => writeScanFile(scanFilePath(scanDir, row.scan_number, row.timestamp_ns), encodeScans([row]), 'rename'),
    async cleanup() {
      for (const c of cleanups.splice(0).reverse()) await c();
    },
  };
  return rig;
}

/** n scans a second apart with rallies and drops in BTC and a regular signal: trades to compare. */
export function zigzagScans(seed: number, baseNs: number, n: number): ScanRecord[] {
  const gen = new ScanGenerator({ seed });
  return Array.from({ length: n }, (_, i) => {
    const s = gen.next(baseNs + i * 1e9);
    const btc = s.assets.indexOf('BTCUSDT');
    const price = 100_000 * (1 + 0.012 * Math.sin(i / 2.5));
    return { ...s, w50_velocity: s.w150_velocity + (i % 5 === 1 ? -0.03 : 0.01), asset_prices: s.asset_prices.map((p, j) => (j === btc ? price : p)) } as ScanRecord;
  });
}

/** The scan files renamed into place one by one, 40 ms apart. */
export async function feed(r: TraderRig, rows: readonly ScanRecord[]): Promise<void> {
  for (const row of rows) {
    r.put(row);
    await new Promise((res) => setTimeout(res, 40));
  }
}

/** A ledger's fills as comparable lines. */
export const tradeLines = (fills: readonly FillRow[]) => fills.map((f) => `${f.scan_number} ${f.side} ${f.reason} ${f.quantity} ${f.price} ${f.capital_after}`);

/** The fills of one uninterrupted trader over `rows` (a rig of its own, cleaned up before returning). */
export async function uninterruptedTrades(name: string, rows: readonly ScanRecord[], strategy: object, safetyTs: string): Promise<string[]> {
  const ref = await traderRig(name);
  try {
    await ref.setSafety('APEX', safetyTs);
    const dir = path.join(ref.root, 'trader');
    await ref.startTrader({ stateDir: dir, strategy });
    await feed(ref, rows);
    const last = rows.at(-1)?.scan_number;
    for (const t0 = Date.now(); (await ref.state())?.last_scan_number !== last;) {
      if (Date.now() - t0 > 30_000) throw new Error(`${name}: the reference trader did not reach scan ${last}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const ledger = new Ledger(liveLedgerFile(dir));
    try {
      return tradeLines(ledger.fills());
    } finally {
      ledger.close();
    }
  } finally {
    await ref.cleanup();
  }
}
