import { statSync } from 'node:fs';
import path from 'node:path';
import { isDolphinError, isoMicros, nowEpochNs, type FeatureScan, type Logger, type ScanRecord } from '@dolphin/core';
import { readScanFileBytes, ScanDecoder, ScanFileErrors, scansInRange, type DecodeResult } from '@dolphin/scanfile';
import { ScanDirWatcher } from './dir-watcher.ts';
import { LateScans } from './late-scans.ts';
import type { BridgeMetrics } from './metrics.ts';
import { PositionStore } from './position-store.ts';
import { quarantineFile } from './quarantine.ts';
import { follows, judge, laterPosition, type Position } from './scan-order.ts';
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
  /** A file larger than this is quarantined without being read (default 8 MiB). */
  maxScanBytes?: number;
  /** A scan dated further ahead of the clock than this is quarantined (default 5 s). */
  maxClockSkewMs?: number;
  /** A scan that does not follow the last published one waits for this much quiet (default 25 ms)... */
  burstQuietMs?: number;
  /** ...at most this long (default 250 ms). */
  burstMaxMs?: number;
  /** Seals the JSON text of a scan (once: the map and the history get the same text). */
  seal?(text: string): string;
  /** Publishes the (sealed) JSON text of a feature scan to latest_eigen_scan. */
  publish(text: string): Promise<void>;
  /** Appends the (sealed) JSON text to the bounded scan history (buffered; must not throw). */
  appendHistory?(text: string): void;
  /** Resolves when every appended scan is in the history (called on stop). */
  flushHistory?(): Promise<void>;
  /**
   * The scan the map holds, read only when the bridge was stopped between recording a scan as
   * about to be put and recording it as put: if the map holds exactly that scan (and, with a
   * sealing connection, only a value sealed by Dolphin counts), it was published and is not
   * published again. The position itself never comes from the map.
   */
  readPublished?(): Promise<{ timestamp_ns: number } | undefined>;
  /**
   * The time of the history's newest scan (undefined when it is empty). At start, the scans
   * published after it — their appends lost with a killed bridge — are appended again from
   * their files, so the history misses none.
   */
  historyTail?(): Promise<number | undefined>;
  /** Called after each publish (tests, benchmarks). */
  onPublished?(scan: FeatureScan, putDoneNs: number): void;
}

/** Linux file times tick on a coarse clock; files within this much of each other may be in either order. */
const MTIME_SLACK_NS = 50e6;
/** How many of the newest files a first start looks through for a valid newest scan. */
const FIRST_START_LOOKBACK = 200;
/** Backoff while the map cannot be written (Hazelcast down or reconnecting). */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;

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
  /** Being handled (alone, or in a burst): another event for it marks it dirty. */
  busy: boolean;
  /** Another event came while this file was being handled: look at it again afterwards. */
  dirty: boolean;
}

/**
 * A group of files published in timestamp order rather than event order: the catch-up after a
 * restart, a folder that appeared with files in it, a burst, or (newestOnly) a first start.
 */
interface Batch {
  files: string[];
  newestOnly: boolean;
  /** Skip files whose mtime is older than the last published one without decoding them (a folder sweep). */
  byMtime: boolean;
  /**
   * A folder that appeared: files may still be arriving in it, so the batch waits for quiet and
   * takes them too, and every file is decoded (files moved in keep their old mtimes).
   */
  merge?: boolean;
}

/** One line of work: a file, a batch, or (first, at start) whether the scan being put when the last process stopped landed. */
type WorkItem = FileItem | { kind: 'batch'; batch: Batch } | { kind: 'confirm'; pending: Position } | { kind: 'history' };

/** stop() was called while waiting on Hazelcast. */
class Stopped extends Error {}

type ReadResult =
  | { result: DecodeResult; mtimeNs: number; size: number; decodedNs: number }
  | { tooLarge: number }
  | { error: NodeJS.ErrnoException }
  | undefined;

/**
 * The scan bridge: each new scan file → decoded, validated, ordered → DOLPHIN_FEATURES.
 * Work is done one item at a time, in arrival order: single files as their events come, batches
 * (a folder that appeared with files in it, a burst) in their place, and the catch-up first at
 * start. A scan whose number follows the last published one is published at once; any other
 * waits for the files arriving with it (`burstQuietMs`), and what came together is published in
 * time order. A file still being written is read again on its next change, and quarantined only
 * if it stays incomplete (or undecodable) for `settleMs`. When the map cannot be written, the
 * work stays first in line and is retried with backoff: nothing is skipped or reordered.
 * The position (what was last published) comes from the bridge's own state file alone, written
 * after every publish: never from the map, which any local process can write.
 */
export class ScanBridge {
  private position: Position | undefined;
  /** All work in arrival order; the head stays there until it is done (retried through outages). */
  private readonly work: WorkItem[] = [];
  /** The queued file items by path, to merge repeated events for one file. */
  private readonly queued = new Map<string, FileItem>();
  private readonly pending = new Map<string, Pending>();
  /** Files that could neither be read nor quarantined: not tried again until they change. */
  private readonly stuck = new Map<string, number>();
  private draining = false;
  private paused = true;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private retryMs = 0;
  private wake: (() => void) | undefined;
  /** When the last file event came (performance.now()): a burst is over after burstQuietMs of quiet. */
  private lastOfferMs = 0;
  /** Rejecters of the waits in progress, called by stop(). */
  private readonly stopWaiters = new Set<() => void>();
  /** The JSON of a scan whose put failed, reused on retry so a late first put and the retry are identical. */
  private attempt: { file: string; timestampNs: number; text: string; value: FeatureScan } | undefined;
  private positionSaveFailing = false;
  private readonly late: LateScans;
  private readonly decoder = new ScanDecoder();
  private readonly store: PositionStore;
  private readonly watcher: ScanDirWatcher;
  private readonly o: BridgeOptions;
  private readonly maxScanBytes: number;
  private readonly maxSkewNs: number;

  constructor(options: BridgeOptions) {
    this.o = options;
    this.maxScanBytes = options.maxScanBytes ?? 8 * 1024 * 1024;
    this.maxSkewNs = (options.maxClockSkewMs ?? 5_000) * 1e6;
    this.store = new PositionStore(options.stateDir);
    this.late = new LateScans(options.logger);
    this.watcher = new ScanDirWatcher(options.scanDir, options.logger,
      (file, seenNs) => this.offer(file, seenNs),
      (files) => this.offerBatch({ files, newestOnly: false, byMtime: false, merge: true }));
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
    const stored = this.store.load(logger);
    this.position = laterPosition(this.position, stored.position);
    const pending = stored.pending && judge(this.position, stored.pending.timestamp_ns) === 'publish' ? stored.pending : undefined;
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
      if (newer.length > files.length) logger.warn({ skipped: newer.length - files.length, catchUpMax: this.o.catchUpMax }, 'more files than catchUpMax arrived while the bridge was down; catching up the newest (the trader reads the rest from the files)');
    } else {
      // First start: only the newest scan matters; older files are history, not news.
      files = newestScanFiles(this.o.scanDir, FIRST_START_LOOKBACK).map((f) => f.file);
    }
    logger.info({ candidates: files.length, firstStart: !position, ms: Math.round(performance.now() - t0), position: position?.file }, 'start-up scan done');
    // Ahead of any event that arrived meanwhile; retried while Hazelcast is unreachable.
    const head: WorkItem[] = [];
    if (pending && this.o.readPublished) head.push({ kind: 'confirm', pending });
    if (position && this.o.historyTail && this.o.appendHistory) head.push({ kind: 'history' });
    if (files.length > 0) head.push({ kind: 'batch', batch: { files, newestOnly: !position, byMtime: true } });
    this.work.unshift(...head);
    this.paused = false;
    this.kick();
  }

  /** A file event: queue the file (once) and process the queue. */
  offer(file: string, seenNs: number, settled = false): void {
    if (this.stopped) return;
    this.lastOfferMs = performance.now();
    this.stuck.delete(file);
    const existing = this.queued.get(file);
    if (existing) {
      existing.settled ||= settled;
      if (existing.busy) existing.dirty = true;
      return;
    }
    const item: FileItem = { kind: 'file', file, seenNs, settled, busy: false, dirty: false };
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
      if (item.kind === 'file') item.busy = true;
      try {
        if (item.kind === 'batch') await (item.batch.merge ? this.publishBurst(item.batch.files) : this.publishBatch(item.batch));
        else if (item.kind === 'confirm') await this.confirm(item.pending);
        else if (item.kind === 'history') await this.completeHistory();
        else await this.handle(item);
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
      if (item.kind === 'file') this.done(item);
    }
  }

  private done(item: FileItem): void {
    this.queued.delete(item.file);
    if (this.attempt?.file === item.file) this.attempt = undefined;
    if (item.dirty) this.offer(item.file, nowEpochNs()); // it changed while being handled
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

  /** Whether the put in flight when the last process stopped landed; retried while the map cannot be read. */
  private async confirm(pending: Position): Promise<void> {
    let inMap: { timestamp_ns: number } | undefined;
    try {
      inMap = await this.untilStopped((this.o.readPublished as () => Promise<{ timestamp_ns: number } | undefined>)());
    } catch (err) {
      if (err instanceof Stopped) throw err;
      // A value that is not Dolphin's is no evidence either way: publish the scan again (readers
      // take a scan's timestamp as its identity), rather than lose it.
      if (isDolphinError(err, 'DOLPHIN_HZ_UNSEALED') || isDolphinError(err, 'DOLPHIN_HZ_BAD_SEAL')) return;
      throw new PublishFailed('cannot read latest_eigen_scan', { cause: err });
    }
    if (inMap?.timestamp_ns !== pending.timestamp_ns) return;
    this.position = laterPosition(this.position, pending);
    this.savePosition(pending);
    this.o.logger.info({ file: pending.file, scan_number: pending.scan_number }, 'the scan being published when the bridge stopped had landed; not publishing it again');
  }

  /**
   * Appends again the scans published after the history's newest entry (up to the position):
   * a bridge killed between its put and its (batched) append left them out. An empty history
   * (a member that restarted) is left empty: its scans are in the files.
   */
  private async completeHistory(): Promise<void> {
    const position = this.position;
    if (!position) return;
    let tail: number | undefined;
    try {
      tail = await this.untilStopped((this.o.historyTail as () => Promise<number | undefined>)());
    } catch (err) {
      if (err instanceof Stopped) throw err;
      throw new PublishFailed('cannot read the scan history', { cause: err });
    }
    if (tail === undefined || tail >= position.timestamp_ns) return;
    let n = 0;
    // Up to the position, itself included (epoch ns are float64: `+ 1` would be lost in rounding).
    for await (const chunk of scansInRange(this.o.scanDir, { afterNs: tail, maxBytes: this.maxScanBytes, decoder: this.decoder })) {
      for (const { scan, file } of chunk.scans) {
        if (scan.timestamp_ns > position.timestamp_ns) return this.saidHistory(n);
        this.o.appendHistory?.(this.valueOf(file, scan, 0, 0, 0).text);
        this.late.published(scan.timestamp_ns);
        n++;
      }
    }
    this.saidHistory(n);
  }

  private saidHistory(n: number): void {
    if (n > 0) this.o.logger.info({ scans: n }, `the scan history missed ${n} scan(s) published before the last stop; appended them again`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => { clearTimeout(t); resolve(); };
    }).finally(() => { this.wake = undefined; });
  }

  /** Waits before the next try: 100 ms doubling to 5 s, cut short by stop(). */
  private async backoff(err: PublishFailed, what: string): Promise<void> {
    if (this.stopped) return;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs === 0 ? RETRY_INITIAL_MS : this.retryMs * 2);
    this.o.logger.warn({ err: err.cause, what, retryInMs: this.retryMs, waiting: this.work.length }, 'could not publish; retrying with backoff');
    await this.sleep(this.retryMs);
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
      if (batch.byMtime && !batch.newestOnly && floor > 0 && mtimeNsOf(file) < floor) continue;
      const seenNs = nowEpochNs();
      const read = await this.read(file);
      const rows = this.rowsOf(file, read, false);
      if (rows === undefined) continue;
      const { mtimeNs, decodedNs } = read as { mtimeNs: number; decodedNs: number };
      for (const row of rows) ready.push({ file, row, mtimeNs, seenNs, decodedNs });
      // Newest first: once a file of the newest mtime tick is valid, older files do not matter.
      if (batch.newestOnly && ready.length > 0 && mtimeNs < (ready[0] as { mtimeNs: number }).mtimeNs - MTIME_SLACK_NS) break;
    }
    ready.sort((a, b) => a.row.timestamp_ns - b.row.timestamp_ns);
    for (const r of batch.newestOnly ? ready.slice(-1) : ready) {
      if (this.stopped) throw new Stopped('stopped');
      await this.publishRow(r.file, r.row, r.mtimeNs, r.seenNs, r.decodedNs, batch.byMtime);
    }
  }

  private async read(file: string): Promise<ReadResult> {
    let got;
    try {
      got = readScanFileBytes(file, this.maxScanBytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget(file); // renamed away or quarantined
        return undefined;
      }
      return { error: err as NodeJS.ErrnoException };
    }
    if (got.kind === 'too-large') return { tooLarge: got.size };
    // Synchronous for every flat scan (the hot path); only Arrow's fallback is waited for.
    const decoded = this.decoder.decode(got.bytes);
    const result = decoded instanceof Promise ? await decoded : decoded;
    return { result, mtimeNs: got.mtimeNs, size: got.bytes.length, decodedNs: nowEpochNs() };
  }

  /**
   * The valid rows of a read, oldest first, or undefined after dealing with what is wrong: a
   * file gone, too large, unreadable, from the future or invalid is quarantined; an incomplete
   * one waits for its next change (or, `settled` and unchanged, is quarantined).
   */
  private rowsOf(file: string, read: ReadResult, settled: boolean): ScanRecord[] | undefined {
    if (read === undefined) return undefined;
    if ('tooLarge' in read) {
      this.quarantine(file, ScanFileErrors.DOLPHIN_SCANFILE_TOO_LARGE.code, `${read.tooLarge} bytes, more than bridge.maxScanBytes (${this.maxScanBytes}); not read`);
      return undefined;
    }
    if ('error' in read) {
      this.unreadable(file, read.error);
      return undefined;
    }
    const { result, mtimeNs, size } = read;
    if (result.kind === 'incomplete') {
      this.o.metrics?.incomplete.inc();
      const prior = this.pending.get(file);
      if (settled && prior && prior.mtimeNs === mtimeNs && prior.size === size) {
        const spec = result.empty ? ScanFileErrors.DOLPHIN_SCANFILE_EMPTY : ScanFileErrors.DOLPHIN_SCANFILE_TRUNCATED;
        this.quarantine(file, spec.code, `${result.reason} after ${this.o.settleMs} ms without a change (${size} bytes)`);
      } else {
        this.arm(file, mtimeNs, size);
      }
      return undefined;
    }
    if (result.kind === 'invalid') {
      this.invalid(file, result, mtimeNs, size, settled);
      return undefined;
    }
    this.forget(file);
    const limit = nowEpochNs() + this.maxSkewNs;
    const future = result.rows.find((r) => r.timestamp_ns > limit);
    if (future) {
      this.quarantine(file, ScanFileErrors.DOLPHIN_SCANFILE_FUTURE.code,
        `scan ${future.scan_number} is dated ${isoMicros(future.timestamp_ns)}, ${Math.round((future.timestamp_ns - limit) / 1e9 + this.maxSkewNs / 1e9)} s ahead of this host's clock (security.maxClockSkewMs ${this.maxSkewNs / 1e6})`);
      return undefined;
    }
    return result.rows.length > 1 ? [...result.rows].sort((a, b) => a.timestamp_ns - b.timestamp_ns) : result.rows;
  }

  private async handle(item: FileItem): Promise<void> {
    const read = await this.read(item.file);
    const rows = this.rowsOf(item.file, read, item.settled);
    if (rows === undefined || rows.length === 0) return;
    const first = rows[0] as ScanRecord;
    // Not the next scan in line, but newer than the last: files may be arriving out of order
    // (a burst, a producer restart). Wait for what comes with it and publish it all in order.
    if (judge(this.position, first.timestamp_ns) === 'publish' && !follows(this.position, first) && (this.o.burstMaxMs ?? 250) > 0) {
      await this.publishBurst([item.file]);
      return;
    }
    const { mtimeNs, decodedNs } = read as { mtimeNs: number; decodedNs: number };
    for (const row of rows) {
      if (this.stopped) throw new Stopped('stopped');
      await this.publishRow(item.file, row, mtimeNs, item.seenNs, decodedNs);
    }
  }

  /**
   * Waits until no file event has come for `burstQuietMs` (at most `burstMaxMs`), then takes
   * every file queued behind `files` out of the line and publishes them all together, in time
   * order.
   */
  private async publishBurst(files: string[]): Promise<void> {
    const quietMs = this.o.burstQuietMs ?? 25;
    const begun = performance.now();
    const deadline = begun + (this.o.burstMaxMs ?? 250);
    for (;;) {
      const now = performance.now();
      const wait = Math.min(Math.max(this.lastOfferMs, begun) + quietMs - now, deadline - now);
      if (wait <= 0 || this.stopped) break;
      await this.sleep(wait);
    }
    if (this.stopped) throw new Stopped('stopped');
    const taken: FileItem[] = [];
    for (let i = this.work.length - 1; i >= 1; i--) {
      const w = this.work[i] as WorkItem;
      if (w.kind !== 'file') continue;
      this.work.splice(i, 1);
      w.busy = true;
      taken.unshift(w);
    }
    if (taken.length > 0) {
      this.o.metrics?.bursts.inc();
      this.o.logger.debug({ files: taken.length + 1 }, 'publishing a burst of files in time order');
    }
    try {
      await this.publishBatch({ files: [...files, ...taken.map((t) => t.file)], newestOnly: false, byMtime: false });
    } catch (err) {
      // Back in line behind this one, in their order: the retry takes them again.
      for (const t of taken) t.busy = false;
      this.work.splice(1, 0, ...taken);
      throw err;
    }
    for (const t of taken) this.done(t);
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

  /** The feature scan of a row and its sealed JSON text. */
  private valueOf(rel: string, row: ScanRecord, mtimeNs: number, seenNs: number, decodedNs: number): { value: FeatureScan; text: string } {
    const value: FeatureScan = {
      ...row,
      timestamp: isoMicros(row.timestamp_ns),
      bridge_ts: isoMicros(),
      bridge_source: this.o.source,
      file: rel,
      stamps: { file_ns: mtimeNs, seen_ns: seenNs, decoded_ns: decodedNs, put_ns: nowEpochNs() },
    };
    // The row passed the scan schema and the rest is ours: serialise directly, no second
    // validation on the hot path.
    const json = JSON.stringify(value);
    return { value, text: this.o.seal ? this.o.seal(json) : json };
  }

  /**
   * Publishes one scan if it is newer than the last one published; true when it was. An older
   * one is a late scan (counted, and handed to the history) unless `quietOlder`: a catch-up or a
   * folder sweep reads files around the last published one by design.
   */
  private async publishRow(file: string, row: ScanRecord, mtimeNs: number, seenNs: number, decodedNs: number, quietOlder = false): Promise<boolean> {
    const rel = path.relative(this.o.scanDir, file);
    const verdict = judge(this.position, row.timestamp_ns);
    if (verdict !== 'publish') {
      this.o.metrics?.skipped.inc({ reason: verdict });
      if (verdict === 'older' && !quietOlder && this.late.note(rel, row, this.position)) {
        // Not over the newer scan in the map, but into the history: a trader still behind it
        // decides it in its place.
        this.o.appendHistory?.(this.valueOf(rel, row, mtimeNs, seenNs, decodedNs).text);
        this.o.metrics?.lateToHistory.inc();
      } else if (verdict === 'duplicate') {
        this.o.logger.debug({ file: rel, scan_number: row.scan_number }, 'duplicate scan not published');
      }
      return false;
    }
    let value: FeatureScan;
    let text: string;
    if (this.attempt?.file === file && this.attempt.timestampNs === row.timestamp_ns) {
      ({ value, text } = this.attempt);
    } else {
      ({ value, text } = this.valueOf(rel, row, mtimeNs, seenNs, decodedNs));
    }
    const next: Position = { timestamp_ns: row.timestamp_ns, scan_number: row.scan_number, file: rel, file_mtime_ns: mtimeNs, published_at: value.bridge_ts };
    this.record(() => this.store.savePending(next));
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
    this.position = next;
    this.savePosition(next);
    this.late.published(row.timestamp_ns);
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

  /** After every publish, in place (a few µs): a restart continues from exactly here. */
  private savePosition(p: Position): void {
    this.record(() => this.store.save(p));
  }

  private record(write: () => void): void {
    try {
      write();
      if (this.positionSaveFailing) this.o.logger.info({ file: this.store.file }, 'bridge position recorded again');
      this.positionSaveFailing = false;
    } catch (err) {
      // Publishing goes on: a restart would republish from the last recorded position (the
      // trader skips what it has decided), which is better than not publishing at all.
      if (!this.positionSaveFailing) this.o.logger.error({ err, file: this.store.file }, 'cannot record the bridge position; a restart now would republish the scans since the last one recorded');
      this.positionSaveFailing = true;
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
    this.late.flush();
    this.store.close();
    await this.decoder.close();
    await this.o.flushHistory?.();
  }
}

function describe(item: WorkItem, scanDir: string): string {
  if (item.kind === 'file') return path.relative(scanDir, item.file);
  if (item.kind === 'confirm') return 'read latest_eigen_scan';
  if (item.kind === 'history') return 'complete the scan history';
  return `${item.batch.files.length} files`;
}

function mtimeNsOf(file: string): number {
  try {
    return Number(statSync(file, { bigint: true }).mtimeNs);
  } catch {
    return Number.POSITIVE_INFINITY; // let the read report it
  }
}
