import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { featureScanSchema, Keys, MapNames, type FeatureScan } from '@dolphin/core';
import { connect, freePort, openMap, startMember, type HzConnection, type MemberHandle } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { hazelcastSettings, testLogger, waitFor } from '@dolphin/test-support';
import { ScanBridge } from '../src/index.ts';

const members: MemberHandle[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all(members.map((m) => m.stop(10_000)));
});

describe('scan bridge across a Hazelcast outage', () => {
  it('holds files written while the member is down and publishes them in order once it is back', async () => {
    const port = await freePort();
    const clusterName = `bridge-outage-${port}`;
    const logger = testLogger('scan-bridge');
    members.push(await startMember({ port, clusterName, heapMb: 256, logger }));
    const conn: HzConnection = await connect({
      settings: hazelcastSettings(clusterName, [`127.0.0.1:${port}`], { operationTimeoutMs: 2_000, reconnect: { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0 } }),
      logger, firstConnectTimeoutMs: 30_000,
    });
    cleanups.push(() => conn.shutdown());
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-outage-'));
    const scanDir = path.join(root, 'scans');
    const published: FeatureScan[] = [];
    const bridge = new ScanBridge({
      scanDir, stateDir: path.join(root, 'state'), quarantineDir: path.join(root, 'q'),
      settleMs: 5_000, catchUpMax: 1_000, source: 'outage-test', logger,
      publish: (text) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, text),
      onPublished: (v) => published.push(v),
    });
    cleanups.push(() => bridge.stop());
    await bridge.start();

    const gen = new ScanGenerator({ seed: 31 });
    const write = () => {
      const ns = Date.now() * 1e6;
      const scan = gen.next(ns);
      writeScanFile(scanFilePath(scanDir, scan.scan_number, ns), encodeScans([scan]), 'rename');
      return scan.scan_number;
    };
    write();
    await waitFor(() => published.length === 1, 'the first scan');

    await members[0]!.kill();
    await waitFor(() => !conn.isConnected(), 'the client to notice');
    const during: number[] = [];
    for (let i = 0; i < 3; i++) {
      during.push(write());
      await new Promise((r) => setTimeout(r, 30));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(published).toHaveLength(1); // nothing can be published, nothing is dropped either

    members.push(await startMember({ port, clusterName, heapMb: 256, logger }));
    await waitFor(() => published.length === 4, 'the held scans after the member is back', 60_000);
    expect(published.map((p) => p.scan_number)).toEqual([1, ...during]);
    expect((await features.get(Keys.LATEST_EIGEN_SCAN))?.scan_number).toBe(during.at(-1));
  });

  it('stops promptly while it waits for an unreachable member, keeping what it holds for the next start', async () => {
    const port = await freePort();
    const clusterName = `bridge-outage-stop-${port}`;
    const logger = testLogger('scan-bridge');
    const member = await startMember({ port, clusterName, heapMb: 256, logger });
    members.push(member);
    const conn: HzConnection = await connect({
      settings: hazelcastSettings(clusterName, [`127.0.0.1:${port}`], { operationTimeoutMs: 1_000, reconnect: { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0 } }),
      logger, firstConnectTimeoutMs: 30_000,
    });
    cleanups.push(() => conn.shutdown());
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-outage-stop-'));
    const scanDir = path.join(root, 'scans');
    let attempts = 0;
    const bridge = new ScanBridge({
      scanDir, stateDir: path.join(root, 'state'), quarantineDir: path.join(root, 'q'),
      settleMs: 5_000, catchUpMax: 1_000, source: 'outage-test', logger,
      publish: (text) => { attempts++; return features.setEncoded(Keys.LATEST_EIGEN_SCAN, text); },
    });
    await bridge.start();
    await member.kill();
    const gen = new ScanGenerator({ seed: 32 });
    for (let i = 0; i < 3; i++) {
      const ns = Date.now() * 1e6 + i;
      const scan = gen.next(ns);
      writeScanFile(scanFilePath(scanDir, scan.scan_number, ns), encodeScans([scan]), 'rename');
    }
    await waitFor(() => attempts >= 2, 'the bridge to be retrying');
    const stopped = await Promise.race([bridge.stop().then(() => true), new Promise((r) => setTimeout(() => r(false), 5_000))]);
    expect(stopped, 'stop() resolved while retrying').toBe(true);
    const before = attempts;
    await new Promise((r) => setTimeout(r, 700));
    expect(attempts).toBe(before); // no retries after stop
  });
});
