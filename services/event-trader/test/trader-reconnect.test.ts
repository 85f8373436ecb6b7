import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dailyPnlSchema, featureScanSchema, isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type ScanRecord } from '@dolphin/core';
import { connect, freePort, openMap, startMember, type MemberHandle } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { ScanBridge } from '@dolphin/scan-bridge';
import { strategyParams } from '@dolphin/strategy';
import { hazelcastSettings, testLogger, waitFor } from '@dolphin/test-support';
import { Ledger } from '@dolphin/ledger';
import { attachTraderListeners, EventTrader } from '../src/index.ts';

const members: MemberHandle[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all(members.map((m) => m.stop(10_000)));
});

describe('event trader across a member restart', () => {
  it('reconnects without restarting and trades on the next scan, each scan decided once', async () => {
    const port = await freePort();
    const clusterName = `trader-restart-${port}`;
    const logger = testLogger('event-trader');
    members.push(await startMember({ port, clusterName, heapMb: 256, logger }));
    const conn = await connect({
      settings: hazelcastSettings(clusterName, [`127.0.0.1:${port}`], { operationTimeoutMs: 2_000, reconnect: { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0 } }),
      logger, firstConnectTimeoutMs: 30_000,
    });
    cleanups.push(() => conn.shutdown());
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-trader-restart-'));
    const scanDir = path.join(root, 'scans');
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const bridge = new ScanBridge({
      scanDir, stateDir: path.join(root, 'bridge'), quarantineDir: path.join(root, 'q'), settleMs: 2_000, catchUpMax: 1_000, source: 'test', logger,
      publish: (t) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, t),
    });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    const ledger = new Ledger(path.join(root, 'trader', 'event-trader.db'));
    cleanups.push(() => ledger.close());
    const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
    const pnlMap = await openMap(conn, MapNames.PNL_BLUE, dailyPnlSchema);
    const decided: number[] = [];
    const trader = new EventTrader({
      params: strategyParams(), ledger, logger,
      writeState: (v) => stateMap.set(Keys.STATE_LATEST, v), writePnl: (d, v) => pnlMap.set(d, v),
      onDecision: (_d, scan) => decided.push(scan.scan_number),
    });
    const listeners = await attachTraderListeners(conn, trader);
    cleanups.push(() => listeners.close());
    await (await openMap(conn, MapNames.SAFETY, safetySchema)).set(Keys.SAFETY_LATEST, { posture: 'APEX', size_scale: 1, reasons: [], ts: isoMicros() });
    await waitFor(() => trader.safetyInput?.posture === 'APEX', 'the safety cache');

    const gen = new ScanGenerator({ seed: 3 });
    const write = (velDiv: number): ScanRecord => {
      const ns = Date.now() * 1e6;
      const s = { ...gen.next(ns) };
      const row = { ...s, w50_velocity: s.w150_velocity + velDiv } as ScanRecord;
      writeScanFile(scanFilePath(scanDir, row.scan_number, ns), encodeScans([row]), 'rename');
      return row;
    };
    write(0);
    await waitFor(() => decided.length === 1, 'the first scan decided');

    await members[0]!.kill();
    await waitFor(() => !conn.isConnected(), 'the disconnect');
    members.push(await startMember({ port, clusterName, heapMb: 256, logger }));
    await waitFor(() => conn.isConnected(), 'the reconnect', 60_000);
    const signal = write(-0.03);
    await waitFor(() => decided.includes(signal.scan_number), 'the scan after the restart', 30_000);
    const state = await waitFor(async () => {
      const v = await stateMap.get(Keys.STATE_LATEST);
      return v?.last_scan_number === signal.scan_number ? v : undefined;
    }, 'STATE_BLUE on the new member');
    expect(state.open_positions).toHaveLength(1); // the safety cache survived: it trades on
    await new Promise((r) => setTimeout(r, 2_500)); // past the second re-read after the reconnect
    expect(decided).toEqual([1, signal.scan_number]);
    expect(ledger.fills().map((f) => f.reason)).toEqual(['entry']);
  });
});
