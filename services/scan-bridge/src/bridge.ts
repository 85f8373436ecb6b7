import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { isoMicros, nowEpochNs, type FeatureScan, type Logger, type ScanRecord } from '@dolphin/core';
import { decodeScanFile, ScanFileErrors, type DecodeResult } from '@dolphin/scanfile';
import { ScanDirWatcher } from './dir-watcher.ts';
import type { BridgeMetrics } from './metrics.ts';
import { PositionStore } from './position-store.ts';
import { quarantineFile } from './quarantine.ts';
import { judge, laterPosition, type Position } from './scan-order.ts';
import { listScanFiles, newestScanFiles } from './startup-scan.ts';

export interface BridgeOptions {
  scanDir: string;
  quarantineDir: string;
  stateDir: string;
  settleMs: number;
  catchUpMax: number;
  source: string;
  logger: Logger;
  metrics?: BridgeMetrics;
  /** Publishes the JSON text of a feature scan to latest_eigen_scan. */
  publish(text: string): Promise<void>;
  /** Appends the JSON text to the bounded scan history (buffered; must not throw). */
  appendHistory?(text: string): void;
  /** Resolves when every appended scan is in the history (called on stop). */
  flushHistory?(): Promise<void>;
  /** What the map holds now, read once at start. */
  readPublished?(): Promise<FeatureScan | undefined>;
  /** Called after each publish (tests, benchmarks). */
  onPublished?(scan: FeatureScan, putDoneNs: number): void;
}

/** Linux file times tick on a coarse clock; files within this much of each other may be in either order. */
const MTIME_SLACK_NS = 50e6;
/** The position file is rewritten at most this often. */
const POSITION_SAVE_MS = 250;
/** How many of the newest files a first start looks through for a valid newest scan. */
const FIRST_START_LOOKBACK = 200;
/** Backoff while the map cannot be written (Hazelcast down or reconnecting). */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;
/** At most one warning this often about scans refused as older than the last published. */
const OLDER_WARN_MS = 10_000;

/** The map could not be written: the work goes back to the front and is retried. */
class PublishFailed extends Error {}

interface Pending {
  timer: NodeJS.Timeout;
  mtimeNs: number;
  size: number;
}

interface FileItem {
  kind: 'file';
  file: string;
  seenNs: number;
  settled: boolean;
  /** Another event came while this file was being handled: look at it again afterwards. */
  dirty: boolean;
}

/**
 * A group of files published in timestamp order rather than event order: the catch-up after a
 * restart, a folder that appeared with files in it, or (newestOnly) a first start.
 */
interface Batch {
  files: string[];
  newestOnly: boolean;
}

/** One line of work: a file, a batch, or (first, at start) reading what the map holds. */
type WorkItem = FileItem | { kind: 'batch'; batch: Batch } | { kind: 'read-map' };

/** stop() was called while waiting on Hazelcast. */
class Stopped extends Error {}

type ReadResult = { result: DecodeResult; mtimeNs: number; size: number; decodedNs: number } | { error: NodeJS.ErrnoException } | undefined;

/**
 * The scan bridge: each new scan file → decoded, validated, ordered → DOLPHIN_FEATURES.
 * Work is done one item at a time, in arrival order: single files as their events come, batches
 * (a folder that appeared with files in it) in their place, and at start what the map holds
 * and the catch-up first. A file still being written is read again on its next change, and quarantined
 * only if it stays incomplete (or undecodable) for `settleMs`. When the map cannot be written,
 * the work stays first in line and is retried with backoff: nothing is skipped or reordered.
 */
export class ScanBridge {
  private position: Position | undefined;
  /** All work in arrival order; the head stays there until it is done (retried through outages). */
  private readonly work: WorkItem[] = [];
  /** The queued file items by path, to merge repeated events for one file. */
  private readonly queued = new Map<string, FileItem>();
  private handling: WorkItem | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Files that could neither be read nor quarantined: not tried again until they change. */
  private readonly stuck = new Map<string, number>();
  private draining = false;
  private paused = true;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private retryMs = 0;
  private wake: (() => void) | undefined;
  /** Rejecters of the waits in progress, called by stop(). */
  private readonly stopWaiters = new Set<() => void>();
  /** The JSON of a scan whose put failed, reused on retry so a late first put and the retry are identical. */
  private attempt: { file: string; timestampNs: number; text: string; value: FeatureScan } | undefined;
  private olderRun = { count: 0, warnedAt: 0 };
  private readonly store: PositionStore;
  private readonly watcher: ScanDirWatcher;
  private readonly o: BridgeOptions;

  constructor(options: BridgeOptions) {
    this.o = options;
    this.store = new PositionStore(options.stateDir);
    this.watcher = new ScanDirWatcher(options.scanDir, options.logger,
      (file, seenNs) => this.offer(file, seenNs),
      (files) => this.offerBatch({ files, newestOnly: false }));
  }

  get lastPosition(): Position | undefined {
    return this.position;
  }

  /** Restores a position carried across a dev-mode restart (the later of it and the file wins). */
  restorePosition(p: Position | undefined): void {
    this.position = laterPosition(this.position, p);
  }

  async start(): Promise<void> {
    const { logger } = this.o;
    this.position = laterPosition(this.position, this.store.load(logger));
    // Watch first, so nothing written during the start-up scan is missed; the work waits.
    await this.watcher.start();
    if (this.stopped) return;
    const t0 = performance.now();
    const position = this.position;
    let files: string[];
    if (position) {
      // File times come from the kernel's coarse clock (a few ms per tick): take the files of the
      // last published one's tick too; the timestamp order drops what was already published.
      // Folders are named by scan time (a replay of an archive writes into old dates), a
      // producer may name them by its own clock: look from a day before the earlier of the two.
      const fromDate = new Date(Math.min(position.timestamp_ns, position.file_mtime_ns) / 1e6 - 86_400_000).toISOString().slice(0, 10);
      const newer = listScanFiles(this.o.scanDir, fromDate).filter((f) => f.mtimeNs >= position.file_mtime_ns - MTIME_SLACK_NS);
      files = newer.slice(-this.o.catchUpMax).map((f) => f.file);
      if (newer.length > files.length) logger.warn({ skipped: newer.length - files.length, catchUpMax: this.o.catchUpMax }, 'more files than catchUpMax arrived while the bridge was down; catching up the newest');
    } else {
      // First start: only the newest scan matters; older files are history, not news.
      files = newestScanFiles(this.o.scanDir, FIRST_START_LOOKBACK).map((f) => f.file);
    }
    logger.info({ candidates: files.length, firstStart: !position, ms: Math.round(performance.now() - t0), position: position?.file }, 'start-up scan done');
    // Ahead of any event that arrived meanwhile: first what the map holds (the position file may
    // lag it by a few ms), then the catch-up. Both are retried while Hazelcast is unreachable.
    const head: WorkItem[] = [];
    if (this.o.readPublished) head.push({ kind: 'read-map' });
    if (files.length > 0) head.push({ kind: 'batch', batch: { files, newestOnly: !position } });
    this.work.unshift(...head);
    this.paused = false;
    this.kick();
  }

  /** A file event: queue the file (once) and process the queue. */
  offer(file: string, seenNs: number, settled = false): void {
    if (this.stopped) return;
    this.stuck.delete(file);
    const existing = this.queued.get(file);
    if (existing) {
      existing.settled ||= settled;
      if (existing === this.handling) existing.dirty = true;
      return;
    }
    const item: FileItem = { kind: 'file', file, seenNs, settled, dirty: false };
    this.queued.set(file, item);
    this.work.push(item);
    this.kick();
  }

  offerBatch(batch: Batch): void {
    if (this.stopped) return;
    this.work.push({ kind: 'batch', batch });
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.paused || this.stopped) return;
    this.draining = true;
    this.idle = this.drain().finally(() => {
      this.draining = false;
      // An offer that came after the loop's last look but before this point found us still
      // draining and did not kick: look again.
      if (!this.stopped && this.work.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.work.length > 0) {
      const item = this.work[0] as WorkItem;
      this.handling = item;
      try {
        if (item.kind === 'read-map') await this.readMap();
        else if (item.kind === 'batch') await this.publishBatch(item.batch);
        else await this.handle(item.file, item.seenNs, item.settled);
        this.retryMs = 0;
      } catch (err) {
        if (err instanceof Stopped) return;
        if (err instanceof PublishFailed) {
          await this.backoff(err, describe(item, this.o.scanDir));
          continue; // the same item again: nothing behind it may overtake it
        }
        // Not a file problem (those are handled) and not the map: a defect. Log it, drop this
        // item, keep the bridge alive for the next file rather than crash-loop on this one.
        this.o.logger.error({ err, work: describe(item, this.o.scanDir) }, 'unexpected error handling scan work; skipped');
      }
      this.work.shift();
      this.handling = undefined;
      if (item.kind === 'file') {
        this.queued.delete(item.file);
        if (this.attempt?.file === item.file) this.attempt = undefined;
        if (item.dirty) this.offer(item.file, nowEpochNs()); // it changed while being handled
      }
    }
  }

  /** The map's latest scan, read before anything is published; retried while unreachable. */
  private async readMap(): Promise<void> {
    let inMap: FeatureScan | undefined;
    try {
      inMap = await this.untilStopped(this.o.readPublished!());
    } catch (err) {
      if (err instanceof Stopped) throw err;
      throw new PublishFailed('cannot read latest_eigen_scan', { cause: err });
    }
    if (inMap) {
      this.position = laterPosition(this.position, {
        timestamp_ns: inMap.timestamp_ns, scan_number: inMap.scan_number, file: inMap.file,
        file_mtime_ns: inMap.stamps?.file_ns ?? 0, published_at: inMap.bridge_ts,
      });
    }
  }

  /**
   * `p`, unless stop() comes first. Not `Promise.race` with one long-lived stop promise: each
   * race leaves a reaction on it until it settles — one per scan, which leaked ≈ 500 bytes a
   * scan (the bridge ran out of a 64 MB heap after ≈ 90,000 scans).
   */
  private untilStopped<T>(p: Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Stopped('stopped'));
    return new Promise<T>((resolve, reject) => {
      const onStop = () => reject(new Stopped('stopped'));
      this.stopWaiters.add(onStop);
      p.then(
        (v) => { this.stopWaiters.delete(onStop); resolve(v); },
        (err: unknown) => { this.stopWaiters.delete(onStop); reject(err); },
      );
    });
  }

  /** Waits before the next try: 100 ms doubling to 5 s, cut short by stop(). */
  private async backoff(err: PublishFailed, what: string): Promise<void> {
    if (this.stopped) return;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs === 0 ? RETRY_INITIAL_MS : this.retryMs * 2);
    this.o.logger.warn({ err: err.cause, what, retryInMs: this.retryMs, waiting: this.work.length }, 'could not publish; retrying with backoff');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.retryMs);
      this.wake = () => { clearTimeout(t); resolve(); };
    });
    this.wake = undefined;
  }

  /**
   * Publishes the valid scans of a batch in timestamp order (only the newest when `newestOnly`,
   * looking further back while none is valid); quarantines invalid files; leaves incomplete
   * ones to their next change. Safe to run again after a PublishFailed: what was published is
   * skipped by time.
   */
  private async publishBatch(batch: Batch): Promise<void> {
    const ready: Array<{ file: string; row: ScanRecord; mtimeNs: number; seenNs: number; decodedNs: number }> = [];
    const files = batch.newestOnly ? [...batch.files].reverse() : batch.files;
    const floor = this.position ? this.position.file_mtime_ns - MTIME_SLACK_NS : 0;
    for (const file of files) {
      if (this.stopped) throw new Stopped('stopped');
      // A folder sweep may hold a whole day: files older than the last published need no decode.
      if (!batch.newestOnly && floor > 0 && mtimeNsOf(file) < floor) continue;
      const seenNs = nowEpochNs();
      const read = this.read(file);
      if (read === undefined) continue;
      if ('error' in read) {
        this.unreadable(file, read.error);
        continue;
      }
      const { result, mtimeNs, size, decodedNs } = read;
      if (result.kind === 'incomplete') this.arm(file, mtimeNs, size);
      else if (result.kind === 'invalid') this.invalid(file, result, mtimeNs, size, false);
      else for (const row of result.rows) ready.push({ file, row, mtimeNs, seenNs, decodedNs });
      // Newest first: once a file of the newest mtime tick is valid, older files do not matter.
      if (batch.newestOnly && ready.length > 0 && mtimeNs < (ready[0] as { mtimeNs: number }).mtimeNs - MTIME_SLACK_NS) break;
    }
    ready.sort((a, b) => a.row.timestamp_ns - b.row.timestamp_ns);
    for (const r of batch.newestOnly ? ready.slice(-1) : ready) {
      if (this.stopped) throw new Stopped('stopped');
      await this.publishRow(r.file, r.row, r.mtimeNs, r.seenNs, r.decodedNs);
    }
  }

  private read(file: string): ReadResult {
    try {
      const { bytes, mtimeNs } = readWithMtime(file);
      const result = decodeScanFile(bytes);
      return { result, mtimeNs, size: bytes.length, decodedNs: nowEpochNs() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget(file); // renamed away or quarantined
        return undefined;
      }
      return { error: err as NodeJS.ErrnoException };
    }
  }

  private async handle(file: string, seenNs: number, settled: boolean): Promise<void> {
    const read = this.read(file);
    if (read === undefined) return;
    if ('error' in read) return this.unreadable(file, read.error);
    const { result, mtimeNs, size, decodedNs } = read;
    if (result.kind === 'incomplete') {
      this.o.metrics?.incomplete.inc();
      const prior = this.pending.get(file);
      if (settled && prior && prior.mtimeNs === mtimeNs && prior.size === size) {
        const spec = result.empty ? ScanFileErrors.DOLPHIN_SCANFILE_EMPTY : ScanFileErrors.DOLPHIN_SCANFILE_TRUNCATED;
        return this.quarantine(file, spec.code, `${result.reason} after ${this.o.settleMs} ms without a change (${size} bytes)`);
      }
      this.arm(file, mtimeNs, size);
      return;
    }
    if (result.kind === 'invalid') return this.invalid(file, result, mtimeNs, size, settled);
    this.forget(file);
    const rows = [...result.rows].sort((a, b) => a.timestamp_ns - b.timestamp_ns);
    for (const row of rows) {
      if (this.stopped) throw new Stopped('stopped');
      await this.publishRow(file, row, mtimeNs, seenNs, decodedNs);
    }
  }

  /**
   * An invalid file is quarantined at once, except one Arrow cannot decode: a writer may still
   * be at it, so it gets the same settle time as an incomplete file.
   */
  private invalid(file: string, result: { code: string; reason: string }, mtimeNs: number, size: number, settled: boolean): void {
    const prior = this.pending.get(file);
    const stable = settled && prior !== undefined && prior.mtimeNs === mtimeNs && prior.size === size;
    if (result.code === ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code && !stable) {
      this.arm(file, mtimeNs, size);
      return;
    }
    this.quarantine(file, result.code, result.reason);
  }

  /** A file that cannot be read (permissions, a folder named *.arrow): quarantined, or left alone with an error. */
  private unreadable(file: string, err: NodeJS.ErrnoException): void {
    if (err.code === 'EMFILE' || err.code === 'ENFILE') {
      // Out of descriptors for a moment: try again shortly rather than judge the file.
      const t = setTimeout(() => this.offer(file, nowEpochNs()), 1_000);
      t.unref();
      return;
    }
    this.quarantine(file, ScanFileErrors.DOLPHIN_SCANFILE_UNREADABLE.code, `cannot be read: ${err.code ?? ''} ${err.message}`.trim());
  }

  /** Publishes one scan if it is newer than the last one published; true when it was. */
  private async publishRow(file: string, row: ScanRecord, mtimeNs: number, seenNs: number, decodedNs: number): Promise<boolean> {
    const rel = path.relative(this.o.scanDir, file);
    const verdict = judge(this.position, row.timestamp_ns);
    if (verdict !== 'publish') {
      this.o.metrics?.skipped.inc({ reason: verdict });
      if (verdict === 'older') this.noteOlder(rel, row);
      else this.o.logger.debug({ file: rel, scan_number: row.scan_number }, 'duplicate scan not published');
      return false;
    }
    let value: FeatureScan;
    let text: string;
    if (this.attempt?.file === file && this.attempt.timestampNs === row.timestamp_ns) {
      ({ value, text } = this.attempt);
    } else {
      value = {
        ...row,
        timestamp: isoMicros(row.timestamp_ns),
        bridge_ts: isoMicros(),
        bridge_source: this.o.source,
        file: rel,
        stamps: { file_ns: mtimeNs, seen_ns: seenNs, decoded_ns: decodedNs, put_ns: nowEpochNs() },
      };
      // The row passed the scan schema and the rest is ours: serialise directly, no second
      // validation on the hot path.
      text = JSON.stringify(value);
    }
    try {
      await this.untilStopped(this.o.publish(text));
    } catch (err) {
      // The put may still land (a timeout is not a refusal): the retry sends the very same text.
      this.attempt = { file, timestampNs: row.timestamp_ns, text, value };
      if (err instanceof Stopped) throw err;
      throw new PublishFailed('publish failed', { cause: err });
    }
    this.attempt = undefined;
    const putDoneNs = nowEpochNs();
    this.position = { timestamp_ns: row.timestamp_ns, scan_number: row.scan_number, file: rel, file_mtime_ns: mtimeNs, published_at: value.bridge_ts };
    this.scheduleSave();
    const m = this.o.metrics;
    if (m) {
      m.published.inc();
      m.latency.observe({ hop: 'file_to_put' }, Math.max(0, putDoneNs - mtimeNs) / 1e9);
      m.latency.observe({ hop: 'seen_to_put' }, Math.max(0, putDoneNs - seenNs) / 1e9);
    }
    this.o.onPublished?.(value, putDoneNs);
    this.o.appendHistory?.(text);
    return true;
  }

  /** Older scans are expected now and then (a late file); a run of them means a clock problem: say so. */
  private noteOlder(rel: string, row: ScanRecord): void {
    this.olderRun.count++;
    const now = Date.now();
    if (now - this.olderRun.warnedAt >= OLDER_WARN_MS) {
      this.o.logger.warn({ file: rel, scan_number: row.scan_number, scan_ts: isoMicros(row.timestamp_ns), last_published: this.position?.file, refused: this.olderRun.count },
        'scans older than the last published are refused (a late file, or the producer clock went back)');
      this.olderRun = { count: 0, warnedAt: now };
    }
  }

  /**
   * The position file is written at most every POSITION_SAVE_MS, off the per-scan path and off
   * the event loop, one write at a time. Losing the last moments of it in a crash is harmless: at
   * start the bridge also reads what the map holds and takes the later of the two.
   */
  private scheduleSave(): void {
    if (this.saveTimer || this.stopped) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      if (this.saving) return this.scheduleSave(); // still writing the last one: try again later
      const position = this.position;
      if (!position) return;
      this.saving = this.store.save(position)
        .catch((err: unknown) => this.o.logger.warn({ err, file: this.store.file }, 'could not save the bridge position; the map still holds it'))
        .finally(() => { this.saving = undefined; });
    }, POSITION_SAVE_MS);
    this.saveTimer.unref();
  }

  /** At shutdown: after any write in flight, the last position, written before returning. */
  private async saveFinal(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.saving;
    if (!this.position) return;
    try {
      this.store.saveSync(this.position);
    } catch (err) {
      this.o.logger.warn({ err, file: this.store.file }, 'could not save the bridge position; the map still holds it');
    }
  }

  /** Re-check the file after `settleMs` unless another event comes first. */
  private arm(file: string, mtimeNs: number, size: number): void {
    const prior = this.pending.get(file);
    if (prior) clearTimeout(prior.timer);
    const timer = setTimeout(() => this.offer(file, nowEpochNs(), true), this.o.settleMs);
    timer.unref();
    this.pending.set(file, { timer, mtimeNs, size });
  }

  private forget(file: string): void {
    const p = this.pending.get(file);
    if (p) clearTimeout(p.timer);
    this.pending.delete(file);
  }

  private quarantine(file: string, code: string, reason: string): void {
    this.forget(file);
    const rel = path.relative(this.o.scanDir, file);
    let dest: string | undefined;
    try {
      dest = quarantineFile(file, this.o.scanDir, this.o.quarantineDir, code, reason);
    } catch (err) {
      // Cannot even move it: leave it, say so once, and look again only when it changes.
      if (!this.stuck.has(file)) this.o.logger.error({ err, file: rel, code, reason }, `cannot quarantine ${path.basename(file)}; it stays where it is`);
      this.stuck.set(file, Date.now());
      return;
    }
    if (dest === undefined) return;
    this.o.metrics?.quarantined.inc({ code });
    this.o.logger.warn({ file: rel, code, reason, quarantined_to: dest }, `quarantined ${path.basename(file)}: ${reason}`);
  }

  /** Resolves when everything queued so far has been handled (tests, shutdown). */
  async settle(): Promise<void> {
    while (!this.stopped && (this.draining || (this.work.length > 0 && !this.paused))) await this.idle;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.stopWaiters) w();
    this.stopWaiters.clear();
    this.wake?.();
    await this.watcher.stop();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await this.idle.catch(() => undefined);
    await this.saveFinal();
    await this.o.flushHistory?.();
  }
}

function describe(item: WorkItem, scanDir: string): string {
  if (item.kind === 'file') return path.relative(scanDir, item.file);
  if (item.kind === 'batch') return `${item.batch.files.length} files`;
  return 'read latest_eigen_scan';
}

/**
 * The file's bytes and modification time from one open file (open, fstat, read, close): one
 * system call fewer than a stat and a readFileSync, and the time belongs to the bytes read.
 */
function readWithMtime(file: string): { bytes: Buffer; mtimeNs: number } {
  // Non-blocking open: a FIFO named like a scan must not hang the bridge.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) {
      throw Object.assign(new Error(`not a regular file (${st.isDirectory() ? 'a folder' : 'a device, FIFO or socket'})`), { code: st.isDirectory() ? 'EISDIR' : 'EINVAL' });
    }
    const size = Number(st.size);
    const bytes = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) break; // cut short meanwhile: what was read is judged as it is
      off += n;
    }
    return { bytes: off === size ? bytes : bytes.subarray(0, off), mtimeNs: Number(st.mtimeNs) };
  } finally {
    closeSync(fd);
  }
}

function mtimeNsOf(file: string): number {
  try {
    return Number(statSync(file, { bigint: true }).mtimeNs);
  } catch {
    return Number.POSITIVE_INFINITY; // let the read report it
  }
}
