import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { ScanRecord } from '@dolphin/core';
import { DEFAULT_MAX_SCAN_BYTES, readScanFileBytes } from './file-read.ts';
import { DATE_DIR_RE, SCAN_FILE_RE, isScanFileName } from './layout.ts';
import { ScanDecoder } from './read.ts';

/** Names carry the scan's time to the second; a producer naming by a clock of its own may be this far off. */
const NAME_SLACK_S = 120;
const DAY_S = 86_400;

export interface ScanRangeQuery {
  /** Scans strictly after this time (epoch ns)... */
  afterNs: number;
  /** ...and strictly before this one (omit: up to the newest). */
  beforeNs?: number;
  maxBytes?: number;
  /** Files decoded per chunk (memory bound); a chunk never splits one second of names. */
  chunkFiles?: number;
  /** Decodes the files (Arrow's fallback with a deadline); default: one of its own for this call. */
  decoder?: ScanDecoder;
}

export interface ScanInRange {
  scan: ScanRecord;
  /** Relative to the scan folder. */
  file: string;
}

export interface UnreadableInRange {
  file: string;
  code: string;
  reason: string;
}

export interface ScanChunk {
  /** In timestamp order; every scan of a later chunk is newer than every scan of this one. */
  scans: ScanInRange[];
  /** Files in the range that could not be read as scans (still being written, bad, too large). */
  unreadable: UnreadableInRange[];
}

interface Candidate {
  file: string;
  /** The time its folder and name give, in epoch seconds; undefined when its name does not say. */
  nameS: number | undefined;
}

function nameSeconds(dateDir: string, name: string): number | undefined {
  const m = SCAN_FILE_RE.exec(name);
  const day = Date.parse(`${dateDir}T00:00:00Z`);
  if (!m || !Number.isFinite(day)) return undefined;
  const hms = m[2] as string;
  return day / 1000 + Number(hms.slice(0, 2)) * 3600 + Number(hms.slice(2, 4)) * 60 + Number(hms.slice(4, 6));
}

/** Scan files whose folder and name place them in the range (give or take the slack), oldest name first. */
function candidates(scanDir: string, q: ScanRangeQuery): Candidate[] {
  const fromS = Math.floor(q.afterNs / 1e9) - NAME_SLACK_S;
  const toS = q.beforeNs === undefined ? Number.POSITIVE_INFINITY : Math.ceil(q.beforeNs / 1e9) + NAME_SLACK_S;
  const fromDay = new Date((fromS - DAY_S) * 1000).toISOString().slice(0, 10);
  const toDay = Number.isFinite(toS) ? new Date((toS + DAY_S) * 1000).toISOString().slice(0, 10) : '9999-12-31';
  let dirs: string[];
  try {
    dirs = readdirSync(scanDir).filter((d) => DATE_DIR_RE.test(d) && d >= fromDay && d <= toDay);
  } catch {
    return [];
  }
  const out: Candidate[] = [];
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(path.join(scanDir, d));
    } catch {
      continue;
    }
    for (const name of names) {
      if (!isScanFileName(name)) continue;
      const nameS = nameSeconds(d, name);
      if (nameS !== undefined && (nameS < fromS || nameS > toS)) continue;
      out.push({ file: path.join(d, name), nameS });
    }
  }
  return out.sort((a, b) => (a.nameS ?? -1) - (b.nameS ?? -1) || (a.file < b.file ? -1 : 1));
}

/**
 * The scans of the scan folder in a time range, read from the files themselves (the durable
 * record of what the producer wrote), in chunks of about `chunkFiles` files so a long outage is
 * read with bounded memory. Chunks come in time order: files are taken by the time their names
 * give, and a chunk never ends inside one second of names.
 */
export async function* scansInRange(scanDir: string, q: ScanRangeQuery): AsyncGenerator<ScanChunk> {
  const own = q.decoder === undefined ? new ScanDecoder() : undefined;
  const decoder = q.decoder ?? (own as ScanDecoder);
  try {
    yield* chunks(scanDir, q, decoder);
  } finally {
    await own?.close();
  }
}

async function* chunks(scanDir: string, q: ScanRangeQuery, decoder: ScanDecoder): AsyncGenerator<ScanChunk> {
  const all = candidates(scanDir, q);
  // A file whose name gives no time could belong anywhere: then everything is one chunk.
  const chunkFiles = all.some((c) => c.nameS === undefined) ? all.length : Math.max(1, q.chunkFiles ?? 2_000);
  let i = 0;
  while (i < all.length) {
    let end = Math.min(all.length, i + chunkFiles);
    while (end < all.length && all[end]?.nameS === all[end - 1]?.nameS) end++;
    yield await read(scanDir, all.slice(i, end), q, decoder);
    i = end;
  }
}

async function read(scanDir: string, files: Candidate[], q: ScanRangeQuery, decoder: ScanDecoder): Promise<ScanChunk> {
  const scans: ScanInRange[] = [];
  const unreadable: UnreadableInRange[] = [];
  for (const { file } of files) {
    let got;
    try {
      got = readScanFileBytes(path.join(scanDir, file), q.maxBytes ?? DEFAULT_MAX_SCAN_BYTES);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // moved away meanwhile
      unreadable.push({ file, code: 'DOLPHIN_SCANFILE_UNREADABLE', reason: (err as Error).message });
      continue;
    }
    if (got.kind === 'too-large') {
      unreadable.push({ file, code: 'DOLPHIN_SCANFILE_TOO_LARGE', reason: `${got.size} bytes` });
      continue;
    }
    const d = decoder.decode(got.bytes);
    const r = d instanceof Promise ? await d : d;
    if (r.kind === 'incomplete') unreadable.push({ file, code: 'DOLPHIN_SCANFILE_TRUNCATED', reason: r.reason });
    else if (r.kind === 'invalid') unreadable.push({ file, code: r.code, reason: r.reason });
    else {
      for (const scan of r.rows) {
        if (scan.timestamp_ns > q.afterNs && (q.beforeNs === undefined || scan.timestamp_ns < q.beforeNs)) scans.push({ scan, file });
      }
    }
  }
  scans.sort((a, b) => a.scan.timestamp_ns - b.scan.timestamp_ns);
  return { scans, unreadable };
}
