import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isoMicros, nowEpochNs, type ScanRecord } from '@dolphin/core';
import { scanFilePath, isScanFileName } from './layout.ts';
import { decodeScanFile } from './read.ts';
import { encodeScans, writeScanFile } from './write.ts';
import { sleep } from './producer.ts';

export interface ReplayOptions {
  /** Folder of archived scan files (searched recursively). */
  from: string;
  /** The scan folder the bridge watches. */
  scanDir: string;
  /** Time factor: 1 = as recorded, 10 = ten times faster, Infinity = as fast as possible. */
  speed: number;
  signal?: AbortSignal;
  onSkip?(file: string, reason: string): void;
  onWrite?(scan: ScanRecord, file: string, done: number, total: number): void;
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (isScanFileName(name)) out.push(p);
  }
  return out;
}

/** Archived scans, decoded and in time order; unreadable files are reported and skipped. */
export function loadArchive(from: string, onSkip?: (file: string, reason: string) => void): Array<{ scan: ScanRecord; file: string }> {
  const rows: Array<{ scan: ScanRecord; file: string }> = [];
  for (const file of walk(from, [])) {
    const r = decodeScanFile(readFileSync(file));
    if (r.kind === 'ok') for (const scan of r.rows) rows.push({ scan, file });
    else onSkip?.(file, r.reason);
  }
  return rows.sort((a, b) => a.scan.timestamp_ns - b.scan.timestamp_ns);
}

/**
 * Feeds archived scans back through the bridge: each is written to the scan folder as a new
 * scan stamped with the current time (the recorded gaps divided by `speed`), so the bridge's
 * never-backwards rule lets it through; the original time and file ride along as the extra
 * columns `replay_of_ns` and `replay_of_file`.
 */
export async function replayScans(o: ReplayOptions): Promise<number> {
  if (!(o.speed > 0)) throw new RangeError(`speed must be > 0, got ${o.speed}`);
  const archive = loadArchive(o.from, o.onSkip);
  const wallStart = performance.now();
  const firstNs = archive[0]?.scan.timestamp_ns ?? 0;
  let done = 0;
  let lastNs = 0;
  for (const { scan, file } of archive) {
    if (o.signal?.aborted) break;
    if (Number.isFinite(o.speed)) {
      const dueMs = (scan.timestamp_ns - firstNs) / 1e6 / o.speed;
      const wait = dueMs - (performance.now() - wallStart);
      if (wait > 0) await sleep(wait, o.signal);
    }
    const ns = Math.max(nowEpochNs(), lastNs + 1_000); // strictly increasing, even at full speed
    lastNs = ns;
    const replayed = { ...scan, timestamp_ns: ns, timestamp_iso: isoMicros(ns), replay_of_ns: scan.timestamp_ns, replay_of_file: path.relative(o.from, file) } as ScanRecord;
    let out = scanFilePath(o.scanDir, scan.scan_number, ns);
    // An archive spanning producer restarts repeats scan numbers; within one second of replay
    // their names would collide.
    for (let k = 2; existsSync(out); k++) out = out.replace(/(_r\d+)?\.arrow$/, `_r${k}.arrow`);
    writeScanFile(out, encodeScans([replayed]), 'rename');
    done++;
    o.onWrite?.(replayed, out, done, archive.length);
  }
  return done;
}
