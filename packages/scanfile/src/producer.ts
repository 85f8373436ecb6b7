import { nowEpochNs, type ScanRecord } from '@dolphin/core';
import { ScanGenerator } from './generator.ts';
import { scanFilePath } from './layout.ts';
import type { IpcFormat } from './read.ts';
import { ScanEncoder } from './scan-encoder.ts';
import { writeScanFile, type WriteMode } from './write.ts';

export interface ProducerOptions {
  scanDir: string;
  /** Scans per second (default 0.2: one per 5 s; up to 1,000). */
  rate: number;
  /** Stop after this many scans (default: until aborted). */
  count?: number;
  mode?: WriteMode;
  format?: IpcFormat;
  seed?: number;
  assets?: number;
  signal?: AbortSignal;
  onWrite?(scan: ScanRecord, file: string): void;
}

export const MAX_RATE = 1_000;

/** A sleep that ends early when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/**
 * Writes scan files at a steady rate, as the NG scanner does: a fresh generator, so scan numbers
 * start at 1 again on every start. Late ticks are caught up at once (no drift at high rates).
 */
export async function produceScans(o: ProducerOptions): Promise<number> {
  if (!(o.rate > 0 && o.rate <= MAX_RATE)) throw new RangeError(`rate must be > 0 and ≤ ${MAX_RATE} scans/s, got ${o.rate}`);
  const gen = new ScanGenerator({ seed: o.seed ?? 42, assets: o.assets ?? 50 });
  const encoder = new ScanEncoder(o.format ?? 'file');
  const intervalMs = 1_000 / o.rate;
  const start = performance.now();
  let written = 0;
  while (!o.signal?.aborted && (o.count === undefined || written < o.count)) {
    const due = start + written * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, o.signal);
    if (o.signal?.aborted) break;
    const ns = nowEpochNs();
    const scan = gen.next(ns);
    const file = scanFilePath(o.scanDir, scan.scan_number, ns);
    writeScanFile(file, encoder.encode(scan), o.mode ?? 'rename');
    written++;
    o.onWrite?.(scan, file);
  }
  return written;
}
