import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isoMicros, nowEpochNs, type FeatureScan, type Logger, type ScanRecord } from '@dolphin/core';
import { decodeScanFile, ScanFileErrors, type DecodeResult } from '@dolphin/scanfile';
import { ScanDirWatcher } from './dir-watcher.ts';
import type { BridgeMetrics } from './metrics.ts';
import { PositionStore } from './position-store.ts';
import { quarantineFile } from './quarantine.ts';
import { judge, laterPosition, type Position } from './scan-order.ts';
import { listScanFiles } from './startup-scan.ts';

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
const POSITION_SAVE_MS = 25;
/** How many files back a first start looks for a valid newest scan. */
const FIRST_START_LOOKBACK = 200;

/** The map could not be written: the file goes back to the front of the queue and is retried. */
class PublishFailed extends Error {}

/** Backoff while the map cannot be written (Hazelcast down or reconnecting). */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;

interface Pending {
  timer: NodeJS.Timeout;
  mtimeNs: number;
  size: number;
}

/**
 * The scan bridge: each new scan file → decoded, validated, ordered → DOLPHIN_FEATURES.
 * Files are handled one at a time in the order their events arrive; a file still being
 * written is read again on its next change, and quarantined only if it stays incomplete
 * for `settleMs`.
 */
export class ScanBridge {
  private position: Position | undefined;
  private readonly queue = new Map<string, { seenNs: number; settled: boolean }>();
  /** Groups of files to publish in timestamp order (a folder that appeared with files in it). */
  private readonly batches: string[][] = [];
  private readonly pending = new Map<string, Pending>();
  private draining = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private retryMs = 0;
  /** Ends a retry wait early (on stop). */
  private wake: (() => void) | undefined;
  private paused = true;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly store: PositionStore;
  private readonly watcher: ScanDirWatcher;
  private readonly o: BridgeOptions;

  constructor(options: BridgeOptions) {
    this.o = options;
    this.store = new PositionStore(options.stateDir);
    this.watcher = new ScanDirWatcher(options.scanDir, options.logger, (file, seenNs) => this.offer(file, seenNs), (files) => this.offerBatch(files));
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
    const inMap = await this.o.readPublished?.().catch((err: unknown) => {
      logger.warn({ err }, 'could not read latest_eigen_scan at start; relying on the position file');
      return undefined;
    });
    if (inMap) {
      this.position = laterPosition(this.position, {
        timestamp_ns: inMap.timestamp_ns, scan_number: inMap.scan_number, file: inMap.file,
        file_mtime_ns: inMap.stamps?.file_ns ?? 0, published_at: inMap.bridge_ts,
      });
    }
    // Watch first, so nothing written during the start-up scan is missed; the queue waits.
    await this.watcher.start();
    const t0 = performance.now();
    const position = this.position;
    const fromDate = position ? new Date(position.file_mtime_ns / 1e6 - 86_400_000).toISOString().slice(0, 10) : undefined;
    const files = listScanFiles(this.o.scanDir, fromDate);
    let published = 0;
    if (position) {
      // File times come from the kernel's coarse clock (a few ms per tick): take the files of the
      // last published one's tick too; the timestamp order drops what was already published.
      const newer = files.filter((f) => f.mtimeNs >= position.file_mtime_ns - MTIME_SLACK_NS).map((f) => f.file);
      const chosen = newer.slice(-this.o.catchUpMax);
      if (newer.length > chosen.length) logger.warn({ skipped: newer.length - chosen.length, catchUpMax: this.o.catchUpMax }, 'more files than catchUpMax arrived while the bridge was down; catching up the newest');
      published = await this.catchUp(chosen, false);
    } else {
      // First start: only the newest scan matters; older files are history, not news. Look at
      // the newest files (and further back while none of them is valid).
      for (let end = files.length; end > 0 && published === 0 && files.length - end < FIRST_START_LOOKBACK; ) {
        const maxNs = (files[end - 1] as { mtimeNs: number }).mtimeNs;
        let begin = end - 1;
        while (begin > 0 && (files[begin - 1] as { mtimeNs: number }).mtimeNs >= maxNs - MTIME_SLACK_NS && end - begin < 50) begin--;
        published = await this.catchUp(files.slice(begin, end).map((f) => f.file), true);
        end = begin;
      }
    }
    logger.info({ files: files.length, published, ms: Math.round(performance.now() - t0), position: this.position?.file }, 'start-up scan done');
    this.paused = false;
    this.kick();
  }

  /**
   * Publishes the valid scans of `files` in timestamp order (only the newest when
   * `newestOnly`); quarantines invalid ones; leaves incomplete ones to their next change.
   */
  private async catchUp(files: string[], newestOnly: boolean): Promise<number> {
    const ready: Array<{ file: string; row: ScanRecord; mtimeNs: number; seenNs: number; decodedNs: number }> = [];
    for (const file of files) {
      const seenNs = nowEpochNs();
      const read = this.read(file);
      if (read === undefined) continue;
      const { result, mtimeNs, size, decodedNs } = read;
      if (result.kind === 'incomplete') this.arm(file, mtimeNs, size);
      else if (result.kind === 'invalid') this.quarantine(file, result.code, result.reason);
      else for (const row of result.rows) ready.push({ file, row, mtimeNs, seenNs, decodedNs });
    }
    ready.sort((a, b) => a.row.timestamp_ns - b.row.timestamp_ns);
    const chosen = newestOnly ? ready.slice(-1) : ready;
    let published = 0;
    for (const r of chosen) if (await this.publishRow(r.file, r.row, r.mtimeNs, r.seenNs, r.decodedNs)) published++;
    return published;
  }

  private read(file: string): { result: DecodeResult; mtimeNs: number; size: number; decodedNs: number } | undefined {
    try {
      const st = statSync(file, { bigint: true });
      const result = decodeScanFile(readFileSync(file));
      return { result, mtimeNs: Number(st.mtimeNs), size: Number(st.size), decodedNs: nowEpochNs() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget(file); // renamed away or quarantined
        return undefined;
      }
      throw err;
    }
  }

  /** A file event: queue the file (once) and process the queue. */
  offer(file: string, seenNs: number, settled = false): void {
    if (this.stopped) return;
    const existing = this.queue.get(file);
    if (existing) {
      existing.settled ||= settled;
      return;
    }
    this.queue.set(file, { seenNs, settled });
    this.kick();
  }

  /** Files found together: decoded first, then published in timestamp order, not name order. */
  offerBatch(files: string[]): void {
    if (this.stopped) return;
    this.batches.push(files);
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.paused) return;
    this.draining = true;
    this.idle = this.drain().finally(() => {
      this.draining = false;
      // An offer that came after the loop's last look but before this point found us still
      // draining and did not kick: look again.
      if (this.queue.size > 0 || this.batches.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped && (this.queue.size > 0 || this.batches.length > 0)) {
      const batch = this.batches.shift();
      if (batch) {
        try {
          await this.catchUp(batch, false);
          this.retryMs = 0;
        } catch (err) {
          if (!(err instanceof PublishFailed)) {
            this.o.logger.error({ err }, 'failed to publish a folder of new files');
            continue;
          }
          this.batches.unshift(batch); // again from the start: what was published is skipped by time
          await this.backoff(err, batch[0] as string);
        }
        continue;
      }
      const [file, item] = this.queue.entries().next().value as [string, { seenNs: number; settled: boolean }];
      this.queue.delete(file);
      try {
        await this.handle(file, item.seenNs, item.settled);
        this.retryMs = 0;
      } catch (err) {
        if (err instanceof PublishFailed) {
          // Keep the order: this file stays first, the rest wait behind it, nothing is skipped.
          const rest = [...this.queue];
          this.queue.clear();
          this.queue.set(file, item);
          for (const [f, v] of rest) this.queue.set(f, v);
          await this.backoff(err, file);
        } else {
          this.o.logger.error({ err, file }, 'failed to handle scan file; it will be retried on its next change');
        }
      }
    }
  }

  /** Waits before the next try: 100 ms doubling to 5 s, cut short by stop(). */
  private async backoff(err: PublishFailed, file: string): Promise<void> {
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs === 0 ? RETRY_INITIAL_MS : this.retryMs * 2);
    this.o.logger.warn({ err: err.cause, file: path.relative(this.o.scanDir, file), retryInMs: this.retryMs, queued: this.queue.size },
      'could not publish; retrying with backoff');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.retryMs);
      this.wake = () => { clearTimeout(t); resolve(); };
    });
    this.wake = undefined;
  }

  private async handle(file: string, seenNs: number, settled: boolean): Promise<void> {
    const read = this.read(file);
    if (read === undefined) return;
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
    this.forget(file);
    if (result.kind === 'invalid') return this.quarantine(file, result.code, result.reason);
    const rows = [...result.rows].sort((a, b) => a.timestamp_ns - b.timestamp_ns);
    for (const row of rows) await this.publishRow(file, row, mtimeNs, seenNs, decodedNs);
  }

  /** Publishes one scan if it is newer than the last one published; true when it was. */
  private async publishRow(file: string, row: ScanRecord, mtimeNs: number, seenNs: number, decodedNs: number): Promise<boolean> {
    const rel = path.relative(this.o.scanDir, file);
    const verdict = judge(this.position, row.timestamp_ns);
    if (verdict !== 'publish') {
      this.o.metrics?.skipped.inc({ reason: verdict });
      this.o.logger.debug({ file: rel, scan_number: row.scan_number, verdict }, 'scan not published');
      return false;
    }
    const bridgeTs = isoMicros();
    const value: FeatureScan = {
      ...row,
      timestamp: isoMicros(row.timestamp_ns),
      bridge_ts: bridgeTs,
      bridge_source: this.o.source,
      file: rel,
      stamps: { file_ns: mtimeNs, seen_ns: seenNs, decoded_ns: decodedNs, put_ns: nowEpochNs() },
    };
    // The row passed the scan schema and the rest is ours: serialise directly, no second
    // validation on the hot path.
    const text = JSON.stringify(value);
    try {
      await this.o.publish(text);
    } catch (err) {
      throw new PublishFailed('publish failed', { cause: err });
    }
    const putDoneNs = nowEpochNs();
    this.position = { timestamp_ns: row.timestamp_ns, scan_number: row.scan_number, file: rel, file_mtime_ns: mtimeNs, published_at: bridgeTs };
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

  /**
   * The position file is written at most every POSITION_SAVE_MS, off the per-scan path (a write
   * and rename cost ≈ 170 µs, as much as the put). Losing the last few ms of it in a crash is
   * harmless: at start the bridge also reads what the map holds and takes the later of the two.
   */
  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.saveNow(), POSITION_SAVE_MS);
    this.saveTimer.unref();
  }

  private saveNow(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.position) return;
    try {
      this.store.save(this.position);
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
    const dest = quarantineFile(file, this.o.scanDir, this.o.quarantineDir, code, reason);
    if (dest === undefined) return;
    this.o.metrics?.quarantined.inc({ code });
    this.o.logger.warn({ file: path.relative(this.o.scanDir, file), code, reason, quarantined_to: dest }, `quarantined ${path.basename(file)}: ${reason}`);
  }

  /** Resolves when everything queued so far has been handled (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.draining || ((this.queue.size > 0 || this.batches.length > 0) && !this.paused)) await this.idle;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.watcher.stop();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await this.idle;
    this.saveNow();
    await this.o.flushHistory?.();
  }
}
