import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { featureScanSchema, Keys, MapNames, type FeatureScan } from '@dolphin/core';
import { openMap, REPO_ROOT, watchMap, type HzConnection, type Watch } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { spawnCollecting, startTestMember, waitFor, type SpawnedProcess, type TestMember } from '@dolphin/test-support';
import { HISTORY_RINGBUFFER } from '../src/index.ts';

let member: TestMember;
let conn: HzConnection;
const spawned: SpawnedProcess[] = [];
const watches: Watch[] = [];

beforeAll(async () => {
  member = await startTestMember();
  conn = await member.client();
});
afterEach(async () => {
  await Promise.all(watches.splice(0).map((w) => w.close()));
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
});
afterAll(async () => {
  await member?.stop();
});

function startBridgeProcess(env: Record<string, string>): SpawnedProcess {
  const p = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'services/scan-bridge/src/main.ts')], {
    PATH: process.env.PATH,
    HZ_MEMBERS: member.members.join(','),
    HZ_CLUSTER_NAME: member.clusterName,
    DOLPHIN_LOG_LEVEL: 'info',
    ...env,
  }, { ipc: true });
  spawned.push(p);
  return p;
}
const ready = (p: SpawnedProcess) => new Promise<void>((resolve) => p.child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scan-bridge process', () => {
  it('killed with SIGKILL mid-stream and restarted: every scan published once, in order, none missing', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bridge-kill-'));
    const env = {
      DOLPHIN_CONFIG_DIR: path.join(root, 'config'),
      DOLPHIN__scans__dir: JSON.stringify(path.join(root, 'scans')),
      DOLPHIN_STATE_DIR: path.join(root, 'state'),
    };
    const scanDir = path.join(root, 'scans');
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const seen: FeatureScan[] = [];
    const w = watchMap(conn, features, { key: Keys.LATEST_EIGEN_SCAN, onUpdate: (u) => seen.push(u.value) });
    watches.push(w);
    await w.ready;

    let bridge = startBridgeProcess(env);
    await ready(bridge);
    const gen = new ScanGenerator({ seed: 21 });
    const produced: number[] = [];
    const write = () => {
      const ns = Date.now() * 1e6 + produced.length; // strictly increasing
      const scan = gen.next(ns);
      writeScanFile(scanFilePath(scanDir, scan.scan_number, ns), encodeScans([scan]), 'rename');
      produced.push(scan.timestamp_ns);
    };
    for (let i = 0; i < 60; i++) {
      write();
      await sleep(10);
      if (i === 25) {
        await waitFor(() => seen.length >= 10, 'some scans before the kill');
        process.kill(bridge.child.pid as number, 'SIGKILL');
        await bridge.exited;
      }
      if (i === 40) {
        bridge = startBridgeProcess(env);
        await ready(bridge);
      }
    }
    await waitFor(() => seen.at(-1)?.timestamp_ns === produced.at(-1), 'the last scan', 30_000);
    const ts = seen.map((s) => s.timestamp_ns);
    expect(new Set(ts).size, 'no duplicates').toBe(ts.length);
    expect(ts, 'in order, none missing').toEqual(produced);

    // The history is appended in small batches after the put: give the last one its moment.
    const history = await conn.client.getRingbuffer<string>(HISTORY_RINGBUFFER);
    const historyTs = async () => {
      const tail = (await history.tailSequence()).toNumber();
      const head = (await history.headSequence()).toNumber();
      const items = (await history.readMany(head, 0, tail - head + 1)) as unknown as { get(i: number): string; size(): number };
      return Array.from({ length: items.size() }, (_, i) => (JSON.parse(items.get(i)) as FeatureScan).timestamp_ns);
    };
    await waitFor(async () => (await historyTs()).length >= produced.length, 'the history to hold as many scans as were written', 5_000).catch(() => undefined);
    expect(await historyTs(), 'the history holds every scan once').toEqual(produced);
  });

  it('hot standbys: the active bridge killed mid-stream, the other takes the lease and goes on from the newest published scan; every scan once, in order', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bridge-standby-'));
    const scanDir = path.join(root, 'scans');
    // Two hosts' bridges: one scan folder (shared, as over NFS), a state folder each.
    const envOf = (host: string) => ({
      DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN__scans__dir: JSON.stringify(scanDir), DOLPHIN_STATE_DIR: path.join(root, host),
      DOLPHIN__bridge__standby: 'true', DOLPHIN__bridge__leaseTtlMs: '1500',
      // One install, one seal key: each reads what the other sealed (the lease, the last scan).
      DOLPHIN__security__keyFile: path.join(root, 'dolphin.key'),
    });
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const seen: FeatureScan[] = [];
    const w = watchMap(conn, features, { key: Keys.LATEST_EIGEN_SCAN, onUpdate: (u) => seen.push(u.value) });
    watches.push(w);
    await w.ready;
    const elected = (p: SpawnedProcess) => p.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('elected: publishing scans'));
    const a = startBridgeProcess(envOf('a'));
    const b = startBridgeProcess(envOf('b'));
    await Promise.all([ready(a), ready(b)]);
    const active = await waitFor(async () => (elected(a) ? a : elected(b) ? b : undefined), 'an active bridge', 15_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n--- a:\n${a.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}\n--- b:\n${b.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`); });
    const standby = active === a ? b : a;

    const gen = new ScanGenerator({ seed: 24 });
    const produced: number[] = [];
    for (let i = 0; i < 50; i++) {
      const ns = Date.now() * 1e6 + produced.length;
      const scan = gen.next(ns);
      writeScanFile(scanFilePath(scanDir, scan.scan_number, ns), encodeScans([scan]), 'rename');
      produced.push(scan.timestamp_ns);
      await sleep(20);
      if (i === 20) {
        await waitFor(() => seen.length >= 10, 'some scans before the kill');
        process.kill(active.child.pid as number, 'SIGKILL');
        await active.exited;
      }
    }
    await waitFor(async () => (elected(standby) ? true : undefined), 'the standby elected', 15_000);
    await waitFor(() => seen.at(-1)?.timestamp_ns === produced.at(-1), 'the last scan', 30_000);
    // (The watch's first event is what an earlier test left in the map.)
    const ts = seen.map((s) => s.timestamp_ns).filter((t) => t >= (produced[0] as number));
    expect(new Set(ts).size, 'no duplicates').toBe(ts.length);
    expect(ts, 'in order, none missing').toEqual(produced);
  });

  it('a scan forged into the map a year ahead (plain JSON, no MAC) does not stop a restarted bridge', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bridge-forged-'));
    const env = {
      DOLPHIN_CONFIG_DIR: path.join(root, 'config'),
      DOLPHIN__scans__dir: JSON.stringify(path.join(root, 'scans')),
      DOLPHIN_STATE_DIR: path.join(root, 'state'),
    };
    const scanDir = path.join(root, 'scans');
    const gen = new ScanGenerator({ seed: 23 });
    const write = (ns: number) => {
      const scan = gen.next(ns);
      writeScanFile(scanFilePath(scanDir, scan.scan_number, ns), encodeScans([scan]), 'rename');
      return scan;
    };
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const seen: FeatureScan[] = [];
    const w = watchMap(conn, features, { key: Keys.LATEST_EIGEN_SCAN, onUpdate: (u) => seen.push(u.value) });
    watches.push(w);
    await w.ready;
    let bridge = startBridgeProcess(env);
    await ready(bridge);
    const first = write(Date.now() * 1e6);
    await waitFor(() => seen.at(-1)?.timestamp_ns === first.timestamp_ns, 'the first scan');
    process.kill(bridge.child.pid as number, 'SIGTERM');
    await bridge.exited;
    // Any local process can write the map: a scan a year ahead, as plain JSON.
    const aYearAhead = Date.now() * 1e6 + 365 * 86_400e9;
    await features.raw.set(Keys.LATEST_EIGEN_SCAN, JSON.stringify({ ...seen.at(-1), timestamp_ns: aYearAhead, scan_number: 999_999, stamps: {} }));
    bridge = startBridgeProcess(env);
    await ready(bridge);
    const real = [write(Date.now() * 1e6), write(Date.now() * 1e6 + 1_000)];
    await waitFor(() => seen.at(-1)?.timestamp_ns === real[1]!.timestamp_ns, 'the real scans published after the forged one', 15_000);
    expect(seen.slice(-2).map((s) => s.timestamp_ns)).toEqual(real.map((r) => r.timestamp_ns));
  });
});
