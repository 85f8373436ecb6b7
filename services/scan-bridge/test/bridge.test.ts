import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, utimesSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { featureScanSchema, Keys, MapNames, type FeatureScan, type ScanRecord } from '@dolphin/core';
import { openMap, REPO_ROOT, type HzConnection, type TypedMap } from '@dolphin/hz';
import { encodeScans, scanFilePath, ScanGenerator, writeScanFile } from '@dolphin/scanfile';
import { pythonWithHazelcast, startTestMember, testLogger, waitFor, type TestMember } from '@dolphin/test-support';
import { ScanBridge } from '../src/index.ts';
import { badFiles } from './corpus.ts';

let member: TestMember;
let conn: HzConnection;
let features: TypedMap<FeatureScan>;
const running: ScanBridge[] = [];

beforeAll(async () => {
  member = await startTestMember();
  conn = await member.client();
  features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.stop()));
  await features.delete(Keys.LATEST_EIGEN_SCAN);
});
afterAll(async () => {
  await member?.stop();
});

interface Rig {
  scanDir: string;
  stateDir: string;
  quarantineDir: string;
}

function rig(): Rig {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bridge-'));
  return { scanDir: path.join(root, 'scans'), stateDir: path.join(root, 'state'), quarantineDir: path.join(root, 'quarantine') };
}

async function startBridge(r: Rig): Promise<{ bridge: ScanBridge; published: FeatureScan[] }> {
  const published: FeatureScan[] = [];
  const bridge = new ScanBridge({
    ...r, settleMs: 300, catchUpMax: 1_000, source: 'bridge-test', logger: testLogger('scan-bridge'),
    publish: (text) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, text),
    onPublished: (v) => published.push(v),
  });
  running.push(bridge);
  await bridge.start();
  return { bridge, published };
}

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0) * 1e6;
function scans(n: number, opts: { seed?: number; first?: number; startNs?: number } = {}): ScanRecord[] {
  const g = new ScanGenerator({ seed: opts.seed ?? 3, firstScanNumber: opts.first ?? 1 });
  return Array.from({ length: n }, (_, i) => g.next((opts.startNs ?? T0) + i * 1e9));
}
const fileOf = (r: Rig, s: ScanRecord) => scanFilePath(r.scanDir, s.scan_number, s.timestamp_ns);
const put = (r: Rig, s: ScanRecord, format: 'file' | 'stream' = 'file') => writeScanFile(fileOf(r, s), encodeScans([s], format), 'rename');
const latest = () => features.get(Keys.LATEST_EIGEN_SCAN);

describe('scan bridge', () => {
  it('publishes apache-arrow files, file and stream format, with every field intact', async () => {
    const r = rig();
    const { published } = await startBridge(r);
    const [a, b] = scans(2);
    put(r, a!, 'file');
    await waitFor(() => published.length === 1, 'first publish');
    put(r, b!, 'stream');
    await waitFor(() => published.length === 2, 'second publish');
    const value = await latest();
    expect(value).toMatchObject({ ...b, file: path.relative(r.scanDir, fileOf(r, b!)), bridge_source: 'bridge-test' });
    expect(value?.timestamp).toBe(b!.timestamp_iso);
    const s = value?.stamps ?? {};
    expect(s.file_ns! <= s.seen_ns! && s.seen_ns! <= s.decoded_ns! && s.decoded_ns! <= s.put_ns!).toBe(true);
    expect(published.map((p) => p.scan_number)).toEqual([1, 2]);
  });

  it('publishes pyarrow files (large_string, dictionary, float32, large_list, an extra column), file and stream', async () => {
    const python = pythonWithHazelcast();
    const r = rig();
    const { published } = await startBridge(r);
    const rows = scans(2, { seed: 9 });
    for (const [i, format] of (['file', 'stream'] as const).entries()) {
      const row = rows[i]!;
      const tmp = path.join(mkdtempSync(path.join(os.tmpdir(), 'pyarrow-')), 'scan.arrow');
      execFileSync(python, [path.join(REPO_ROOT, 'test/clients/write_scan.py'), tmp, format, JSON.stringify([row])]);
      mkdirSync(path.dirname(fileOf(r, row)), { recursive: true });
      renameSync(tmp, fileOf(r, row));
      await waitFor(() => published.length === i + 1, `pyarrow ${format} publish`);
      const value = await latest();
      const { w50_velocity, ...rest } = row;
      expect(value).toMatchObject({ ...rest, producer: 'pyarrow' });
      expect(value?.w50_velocity).toBeCloseTo(w50_velocity, 6); // written as float32
    }
  });

  it('never publishes a slow in-place write half-read, and publishes it once complete', async () => {
    const r = rig();
    const { published } = await startBridge(r);
    const [row] = scans(1, { seed: 4 });
    const bytes = encodeScans([row!]);
    const file = fileOf(r, row!);
    mkdirSync(path.dirname(file), { recursive: true });
    const fd = openSync(file, 'w');
    const chunk = Math.ceil(bytes.length / 8);
    for (let off = 0; off < bytes.length; off += chunk) {
      writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
      await new Promise((res) => setTimeout(res, 40));
      if (off + chunk < bytes.length) expect(published).toHaveLength(0);
    }
    closeSync(fd);
    await waitFor(() => published.length === 1, 'publish after the last byte');
    expect(await latest()).toMatchObject(row!);
    await new Promise((res) => setTimeout(res, 500)); // past settleMs: no late quarantine, no second publish
    expect(published).toHaveLength(1);
    expect(existsSync(file)).toBe(true);
  });

  it('write-then-rename is published exactly once', async () => {
    const r = rig();
    const { published, bridge } = await startBridge(r);
    const rows = scans(5, { seed: 5 });
    for (const row of rows) put(r, row);
    await waitFor(() => published.length === 5, 'five publishes');
    await bridge.settle();
    expect(published.map((p) => p.scan_number)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps publishing after a producer restart (scan_number back to 1) and never publishes an older file over a newer one', async () => {
    const r = rig();
    const { published, bridge } = await startBridge(r);
    const before = scans(3, { first: 700 });
    for (const s of before) put(r, s);
    await waitFor(() => published.length === 3, 'before the restart');
    const after = scans(2, { first: 1, seed: 8, startNs: T0 + 60e9 });
    for (const s of after) put(r, s);
    await waitFor(() => published.length === 5, 'after the restart');
    expect(published.map((p) => p.scan_number)).toEqual([700, 701, 702, 1, 2]);
    // A file from before arrives late.
    const [late] = scans(1, { first: 650, seed: 11, startNs: T0 - 60e9 });
    put(r, late!);
    await new Promise((res) => setTimeout(res, 300));
    await bridge.settle();
    expect(published).toHaveLength(5);
    expect((await latest())?.scan_number).toBe(2);
  });

  it('quarantines every bad file with a reason beside it and goes on to publish the next good file', async () => {
    const r = rig();
    const { published, bridge } = await startBridge(r);
    const corpus = badFiles();
    const dir = path.join(r.scanDir, '2026-11-24');
    mkdirSync(dir, { recursive: true });
    for (const bad of corpus) writeFileSync(path.join(dir, `scan_9_${bad.name}.arrow`), bad.bytes);
    mkdirSync(path.join(dir, 'scan_9_a_folder.arrow')); // cannot be read as a file at all
    const [good] = scans(1, { seed: 12 });
    put(r, good!);
    await waitFor(() => published.length === 1, 'the good file');
    // Empty and truncated files are judged only after settleMs without a change.
    await waitFor(() => readdirSync(dir).filter((n) => n.startsWith('scan_9_')).length === 0, 'every bad file to leave the scan folder', 10_000);
    await bridge.settle();
    for (const bad of corpus) {
      const moved = path.join(r.quarantineDir, '2026-11-24', `scan_9_${bad.name}.arrow`);
      expect(existsSync(moved), bad.name).toBe(true);
      const reason = JSON.parse(readFileSync(`${moved}.reason.json`, 'utf8')) as { code: string; reason: string; file: string };
      expect(reason.code, bad.name).toBe(bad.code);
      expect(reason.reason, bad.name).toMatch(bad.reason);
      expect(reason.file).toBe(`2026-11-24/scan_9_${bad.name}.arrow`);
    }
    const folderReason = JSON.parse(readFileSync(path.join(r.quarantineDir, '2026-11-24', 'scan_9_a_folder.arrow.reason.json'), 'utf8')) as { code: string; reason: string };
    expect(folderReason.code).toBe('DOLPHIN_SCANFILE_UNREADABLE');
    expect(folderReason.reason).toMatch(/EISDIR/);
    expect(published.map((p) => p.scan_number)).toEqual([good!.scan_number]);
  });

  it('after a restart neither republishes nor skips: files written while it was down are caught up in order', async () => {
    // The scans are dated T0, days before the files are written (as in a replay of an
    // archive): the catch-up must look in their date folder, not in the folder of today.
    expect(Date.now() * 1e6 - T0).toBeGreaterThan(2 * 86_400e9);
    const r = rig();
    const first = await startBridge(r);
    const rows = scans(6, { seed: 13 });
    for (const s of rows.slice(0, 3)) put(r, s);
    await waitFor(() => first.published.length === 3, 'three before the stop');
    await first.bridge.stop();
    for (const s of rows.slice(3)) put(r, s);
    const second = await startBridge(r);
    await waitFor(() => second.published.length === 3, 'three caught up');
    expect(second.published.map((p) => p.scan_number)).toEqual([4, 5, 6]);
    await second.bridge.stop();
    const third = await startBridge(r); // nothing new: nothing published
    await third.bridge.settle();
    expect(third.published).toHaveLength(0);
  });

  it('on a first start over 10,000 old files publishes only the newest', async () => {
    const r = rig();
    const rows = scans(1, { seed: 14 });
    const bytes = encodeScans(rows);
    const dayDir = path.join(r.scanDir, '2026-11-23');
    mkdirSync(dayDir, { recursive: true });
    const base = Date.now() / 1000 - 20_000;
    for (let i = 0; i < 10_000; i++) {
      const f = path.join(dayDir, `scan_${i}_000000.arrow`);
      writeFileSync(f, bytes);
      utimesSync(f, base + i, base + i);
    }
    const newest = scans(1, { seed: 15, first: 10_000, startNs: T0 + 3_600e9 })[0]!;
    const newestFile = path.join(dayDir, 'scan_10000_010000.arrow');
    writeFileSync(newestFile, encodeScans([newest]));
    const t0 = performance.now();
    const { published, bridge } = await startBridge(r);
    await waitFor(() => published.length === 1, 'the newest scan');
    testLogger().info({ ms: performance.now() - t0 }, 'start over 10,000 files');
    await bridge.settle();
    expect(published.map((p) => p.file)).toEqual(['2026-11-23/scan_10000_010000.arrow']);
  });

  it('on a first start whose newest file is bad, quarantines it and publishes the newest valid scan', async () => {
    const r = rig();
    const [older, newer] = scans(2, { seed: 16 });
    put(r, older!);
    put(r, newer!);
    const badFile = path.join(r.scanDir, '2026-11-24', 'scan_99_235959.arrow');
    writeFileSync(badFile, new TextEncoder().encode('not arrow at all'));
    const { published, bridge } = await startBridge(r);
    await bridge.settle();
    expect(published.map((p) => p.scan_number)).toEqual([newer!.scan_number]);
    expect(existsSync(path.join(r.quarantineDir, '2026-11-24', 'scan_99_235959.arrow.reason.json'))).toBe(true);
  });

  it('a date folder that appears with files already in it is published in time order, not name order', async () => {
    const r = rig();
    const { published, bridge } = await startBridge(r);
    const rows = scans(12, { seed: 17, first: 5 }); // scan_5 … scan_16: name order puts scan_10 before scan_5
    const staging = mkdtempSync(path.join(os.tmpdir(), 'dolphin-staging-'));
    const day = path.join(staging, '2026-11-24');
    mkdirSync(day);
    for (const row of rows) writeFileSync(path.join(day, path.basename(fileOf(r, row))), encodeScans([row]));
    renameSync(day, path.join(r.scanDir, '2026-11-24')); // the whole folder arrives at once
    await waitFor(() => published.length === 12, 'all twelve');
    await bridge.settle();
    expect(published.map((p) => p.scan_number)).toEqual(rows.map((x) => x.scan_number));
  });
});
