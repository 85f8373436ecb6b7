import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isoMicros, nowEpochNs, type FeatureScan, type Logger, type ScanRecord } from '@dolphin/core';
import { decodeScanFile, ScanFileErrors } from '@dolphin/scanfile';
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
  /** Appends the JSON text to the bounded scan history. */
  appendHistory?(text: string): Promise<void>;
  /** What the map holds now, read once at start. */
  readPublished?(): Promise<FeatureScan | undefined>;
  /** Called after each publish (tests, benchmarks). */
  onPublished?(scan: FeatureScan, putDoneNs: number): void;
}

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
  private readonly pending = new Map<string, Pending>();
  private draining = false;
  private paused = true;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly store: PositionStore;
  private readonly watcher: ScanDirWatcher;
  private readonly o: BridgeOptions;

  constructor(options: BridgeOptions) {
    this.o = options;
    this.store = new PositionStore(options.stateDir);
    this.watcher = new ScanDirWatcher(options.scanDir, options.logger, (file, seenNs) => this.offer(file, seenNs));
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
    const published = await this.o.readPublished?.().catch((err: unknown) => {
      logger.warn({ err }, 'could not read latest_eigen_scan at start; relying on the position file');
      return undefined;
    });
    if (published) {
      this.position = laterPosition(this.position, {
        timestamp_ns: published.timestamp_ns, scan_number: published.scan_number, file: published.file,
        file_mtime_ns: published.stamps?.file_ns ?? 0, published_at: published.bridge_ts,
      });
    }
    // Watch first, so nothing written during the start-up scan is missed; the queue waits.
    await this.watcher.start();
    const t0 = performance.now();
    const fromDate = this.position ? new Date(this.position.file_mtime_ns / 1e6 - 86_400_000).toISOString().slice(0, 10) : undefined;
    const files = listScanFiles(this.o.scanDir, fromDate);
    let chosen: string[];
    if (this.position) {
      const newer = files.filter((f) => f.mtimeNs > (this.position as Position).file_mtime_ns).map((f) => f.file);
      chosen = newer.slice(-this.o.catchUpMax);
      if (newer.length > chosen.length) logger.warn({ skipped: newer.length - chosen.length, catchUpMax: this.o.catchUpMax }, 'more files than catchUpMax arrived while the bridge was down; publishing the newest');
    } else {
      // First start: only the newest scan matters; older files are history, not news.
      chosen = files.slice(-1).map((f) => f.file);
    }
    logger.info({ files: files.length, catchUp: chosen.length, ms: Math.round(performance.now() - t0), position: this.position?.file }, 'start-up scan done');
    const now = nowEpochNs();
    const queued = new Map(this.queue);
    this.queue.clear();
    for (const f of chosen) this.queue.set(f, { seenNs: now, settled: false });
    for (const [f, v] of queued) if (!this.queue.has(f)) this.queue.set(f, v);
    this.paused = false;
    this.kick();
    // When the newest file was bad, the next newest still deserves a chance.
    if (!this.position && files.length > 1) await this.idle.then(() => this.publishNewestValid(files.slice(0, -1).map((f) => f.file).reverse()));
  }

  private async publishNewestValid(older: string[]): Promise<void> {
    for (const file of older.slice(0, 20)) {
      if (this.position || this.stopped) return;
      this.offer(file, nowEpochNs());
      await this.idle;
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

  private kick(): void {
    if (this.draining || this.paused) return;
    this.draining = true;
    this.idle = this.drain().finally(() => { this.draining = false; });
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.queue.size > 0) {
      const [file, item] = this.queue.entries().next().value as [string, { seenNs: number; settled: boolean }];
      this.queue.delete(file);
      try {
        await this.handle(file, item.seenNs, item.settled);
      } catch (err) {
        this.o.logger.error({ err, file }, 'failed to handle scan file; it will be retried on its next change');
      }
    }
  }

  private async handle(file: string, seenNs: number, settled: boolean): Promise<void> {
    let mtimeNs: number;
    let size: number;
    let bytes: Buffer;
    try {
      const st = statSync(file, { bigint: true });
      mtimeNs = Number(st.mtimeNs);
      size = Number(st.size);
      bytes = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.forget(file); // renamed away or quarantined
      throw err;
    }
    const decodedNs = nowEpochNs();
    const result = decodeScanFile(bytes);
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

  private async publishRow(file: string, row: ScanRecord, mtimeNs: number, seenNs: number, decodedNs: number): Promise<void> {
    const rel = path.relative(this.o.scanDir, file);
    const verdict = judge(this.position, row.timestamp_ns);
    if (verdict !== 'publish') {
      this.o.metrics?.skipped.inc({ reason: verdict });
      this.o.logger.debug({ file: rel, scan_number: row.scan_number, verdict }, 'scan not published');
      return;
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
    await this.o.publish(text);
    const putDoneNs = nowEpochNs();
    this.position = { timestamp_ns: row.timestamp_ns, scan_number: row.scan_number, file: rel, file_mtime_ns: mtimeNs, published_at: bridgeTs };
    this.store.save(this.position);
    const m = this.o.metrics;
    if (m) {
      m.published.inc();
      m.latency.observe({ hop: 'file_to_put' }, Math.max(0, putDoneNs - mtimeNs) / 1e9);
      m.latency.observe({ hop: 'seen_to_put' }, Math.max(0, putDoneNs - seenNs) / 1e9);
    }
    this.o.onPublished?.(value, putDoneNs);
    if (this.o.appendHistory) {
      await this.o.appendHistory(text).catch((err: unknown) => this.o.logger.warn({ err }, 'scan history append failed'));
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
    while (this.draining || (this.queue.size > 0 && !this.paused)) await this.idle;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher.stop();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await this.idle;
  }
}
