import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, featureScanSchema, Keys, MapNames, type FeatureScan, type ScanRecord } from '@dolphin/core';
import { openMap, type HzConnection, type TypedMap } from '@dolphin/hz';
import { encodeScans, ScanGenerator, scanFileName } from '@dolphin/scanfile';
import { startTestMember, waitFor, type TestMember } from '@dolphin/test-support';
import { REPO_ROOT } from '@dolphin/hz';
import { footer } from '../../../packages/scanfile/test-fixtures/ipc-layout.ts';
import { ScanBridge } from '../src/index.ts';

// Files that arrive out of order, late, too large or from the future (issue: nothing lost).

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

function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ service: 'scan-bridge', level: 'debug', destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } as unknown as NodeJS.WritableStream });
  return { logger, lines };
}

async function startBridge(root: string, extra: { history?: string[] } = {}) {
  const published: FeatureScan[] = [];
  const { logger, lines } = recordingLogger();
  const bridge = new ScanBridge({
    scanDir: path.join(root, 'scans'), stateDir: path.join(root, 'state'), quarantineDir: path.join(root, 'quarantine'),
    settleMs: 300, catchUpMax: 5_000, source: 'order-test', logger,
    publish: (text) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, text),
    appendHistory: (text) => extra.history?.push(text),
    onPublished: (v) => published.push(v),
  });
  running.push(bridge);
  await bridge.start();
  return { bridge, published, lines };
}

/** Scans dated from a minute ago, one a second: in the past, as a producer's backlog would be. */
function scans(n: number, first = 1): ScanRecord[] {
  const g = new ScanGenerator({ seed: 41, firstScanNumber: first });
  const start = Date.now() * 1e6 - 3_600e9;
  return Array.from({ length: n }, (_, i) => g.next(start + i * 1e9));
}

const day = (s: ScanRecord) => new Date(s.timestamp_ns / 1e6).toISOString().slice(0, 10);

describe('scan bridge: order and refusals', () => {
  it('2,000 files renamed in name order (mv *: scan_1000 before scan_200) are all published, in time order', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-burst-'));
    const { bridge, published, lines } = await startBridge(root);
    const rows = scans(2_000);
    const staging = path.join(root, 'staging');
    mkdirSync(staging);
    for (const row of rows) writeFileSync(path.join(staging, scanFileName(row.scan_number, row.timestamp_ns)), encodeScans([row]));
    const dest = path.join(root, 'scans', day(rows[0]!));
    mkdirSync(dest, { recursive: true });
    // The shell sorts the glob by name: the files arrive in name order, not scan order.
    await promisify(execFile)('sh', ['-c', `mv ${staging}/* ${dest}/`]);
    await waitFor(() => published.length === rows.length, 'every scan published', 60_000);
    await bridge.settle();
    const ts = published.map((p) => p.timestamp_ns);
    expect(ts).toEqual(rows.map((r) => r.timestamp_ns));
    expect(lines.filter((l) => typeof l.refused === 'number')).toEqual([]);
  });

  it('late scans are counted truly in the warning and handed to the history, not published over newer ones', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-late-'));
    const history: string[] = [];
    const { bridge, published, lines } = await startBridge(root, { history });
    const rows = scans(30);
    const dir = path.join(root, 'scans', day(rows[0]!));
    mkdirSync(dir, { recursive: true });
    const put = (r: ScanRecord) => writeFileSync(path.join(dir, scanFileName(r.scan_number, r.timestamp_ns)), encodeScans([r]));
    for (const r of rows.slice(20)) {
      put(r);
      await waitFor(() => published.at(-1)?.timestamp_ns === r.timestamp_ns, `scan ${r.scan_number}`);
    }
    // Twenty older scans arrive afterwards, one by one.
    for (const r of rows.slice(0, 20)) put(r);
    await waitFor(() => history.length === 30, `the late scans in the history (${history.length}: ${history.map((t) => (JSON.parse(t) as FeatureScan).scan_number).join(',')}; published ${published.map((p) => p.scan_number).join(',')})`);
    await bridge.stop();
    expect(published.map((p) => p.scan_number)).toEqual(rows.slice(20).map((r) => r.scan_number));
    expect(history.slice(10).map((t) => (JSON.parse(t) as FeatureScan).scan_number).sort((a, b) => a - b)).toEqual(rows.slice(0, 20).map((r) => r.scan_number));
    const refused = lines.filter((l) => typeof l.refused === 'number').reduce((n, l) => n + (l.refused as number), 0);
    expect(refused, 'the warnings count every refused scan').toBe(20);
  });

  it('a 400 MB file that begins and ends with ARROW1 is quarantined without being read', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-huge-'));
    const { bridge, published } = await startBridge(root);
    const [good] = scans(1);
    const dir = path.join(root, 'scans', day(good!));
    mkdirSync(dir, { recursive: true });
    const staging = path.join(root, 'huge.tmp');
    // Sparse: 400 MB that take no disk.
    const fd = openSync(staging, 'w');
    writeSync(fd, Buffer.from('ARROW1\0\0'));
    closeSync(fd);
    truncateSync(staging, 400 * 1024 * 1024);
    const fd2 = openSync(staging, 'r+');
    writeSync(fd2, Buffer.from('ARROW1'), 0, 6, 400 * 1024 * 1024 - 6);
    closeSync(fd2);
    const rss0 = process.memoryUsage().arrayBuffers;
    const { renameSync } = await import('node:fs');
    renameSync(staging, path.join(dir, 'scan_7_000000.arrow'));
    writeFileSync(path.join(dir, scanFileName(good!.scan_number, good!.timestamp_ns)), encodeScans([good!]));
    await waitFor(() => published.length === 1, 'the good file');
    const reasonFile = path.join(root, 'quarantine', day(good!), 'scan_7_000000.arrow.reason.json');
    await waitFor(() => existsSync(reasonFile), 'the huge file quarantined');
    await bridge.settle();
    const reason = JSON.parse(readFileSync(reasonFile, 'utf8')) as { code: string; reason: string };
    expect(reason.code).toBe('DOLPHIN_SCANFILE_TOO_LARGE');
    expect(reason.reason).toMatch(/419430400 bytes.*not read/);
    expect(process.memoryUsage().arrayBuffers - rss0, 'no 400 MB buffer was allocated').toBeLessThan(100 * 1024 * 1024);
  });

  it('a scan dated a year ahead is quarantined, and real scans go on being published', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-future-'));
    const { bridge, published } = await startBridge(root);
    const g = new ScanGenerator({ seed: 43, firstScanNumber: 1 });
    const future = g.next(Date.now() * 1e6 + 365 * 86_400e9);
    const dir = path.join(root, 'scans', day(future));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, scanFileName(future.scan_number, future.timestamp_ns)), encodeScans([future]));
    const reasonFile = path.join(root, 'quarantine', day(future), `${scanFileName(future.scan_number, future.timestamp_ns)}.reason.json`);
    await waitFor(() => existsSync(reasonFile), 'the future scan quarantined');
    expect((JSON.parse(readFileSync(reasonFile, 'utf8')) as { code: string }).code).toBe('DOLPHIN_SCANFILE_FUTURE');
    const now = g.next(Date.now() * 1e6);
    const nowDir = path.join(root, 'scans', day(now));
    mkdirSync(nowDir, { recursive: true });
    writeFileSync(path.join(nowDir, scanFileName(now.scan_number, now.timestamp_ns)), encodeScans([now]));
    await waitFor(() => published.length === 1, 'the real scan');
    await bridge.settle();
    expect(published.map((p) => p.timestamp_ns)).toEqual([now.timestamp_ns]);
  });

  it('a file apache-arrow would decode forever (a footer block pointing at the schema) is quarantined after its deadline, and the bridge goes on', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-arrow-loop-'));
    const { bridge, published } = await startBridge(root);
    const bytes = new Uint8Array(readFileSync(path.join(REPO_ROOT, 'packages/scanfile/test-fixtures/pyarrow-scan-1x50.file.arrow')));
    const f = footer(bytes);
    const firstBlock = f.abs(f.ref(f.root(), 3)) + 4; // Block { offset: long, … }
    new DataView(bytes.buffer).setBigInt64(firstBlock, 8n, true); // the schema message, not a record batch
    const [good] = scans(1);
    const dir = path.join(root, 'scans', day(good!));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'scan_5_000000.arrow'), bytes);
    const reasonFile = path.join(root, 'quarantine', day(good!), 'scan_5_000000.arrow.reason.json');
    await waitFor(() => existsSync(reasonFile), 'the looping file quarantined', 30_000);
    const reason = JSON.parse(readFileSync(reasonFile, 'utf8')) as { code: string; reason: string };
    expect(reason).toMatchObject({ code: 'DOLPHIN_SCANFILE_CORRUPT' });
    expect(reason.reason).toMatch(/did not finish decoding it within \d+ ms/);
    writeFileSync(path.join(dir, scanFileName(good!.scan_number, good!.timestamp_ns)), encodeScans([good!]));
    await waitFor(() => published.length === 1, 'the next good file published');
    await bridge.settle();
  });
});
