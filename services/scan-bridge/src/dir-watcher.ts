import { existsSync, watch, readdirSync, mkdirSync, type FSWatcher as NodeWatcher } from 'node:fs';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import { nowEpochNs, type Logger } from '@dolphin/core';
import { DATE_DIR_RE, isScanFileName } from '@dolphin/scanfile';

export type CandidateFn = (file: string, seenNs: number) => void;
/** Files found in a folder that appeared while running (written before its watch began). */
export type SweepFn = (files: string[]) => void;

/**
 * Watches `<scanDir>/YYYY-MM-DD/` folders for scan files. The hot path is the raw inotify
 * event of `fs.watch` on each date folder (p50 ≈ 0.3 ms from rename, against ≈ 3.5 ms for
 * chokidar's settled `add`, which stats and waits first). chokidar does the discovery: the date
 * folders that exist at start and the ones that appear later (a new one each midnight).
 */
export class ScanDirWatcher {
  private readonly dirWatchers = new Map<string, NodeWatcher>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly retryDelay = new Map<string, number>();
  private stopped = false;
  private abortStart: (() => void) | undefined;
  private root: FSWatcher | undefined;
  private readonly scanDir: string;
  private readonly logger: Logger;
  private readonly onCandidate: CandidateFn;
  private readonly onSweep: SweepFn;

  constructor(scanDir: string, logger: Logger, onCandidate: CandidateFn, onSweep: SweepFn) {
    this.scanDir = scanDir;
    this.logger = logger;
    this.onCandidate = onCandidate;
    this.onSweep = onSweep;
  }

  /** Resolves once every existing date folder is watched. */
  async start(): Promise<void> {
    mkdirSync(this.scanDir, { recursive: true });
    let ready = false;
    this.root = chokidar.watch(this.scanDir, {
      depth: 0,
      ignoreInitial: false,
      // Only the date folders matter to discovery; files are the date folders' watchers' job.
      ignored: (p, stats) => p !== this.scanDir && (stats?.isFile() === true || !DATE_DIR_RE.test(path.basename(p))),
    });
    this.root.on('addDir', (dir) => {
      if (this.stopped) return;
      if (dir === this.scanDir || !DATE_DIR_RE.test(path.basename(dir))) return;
      this.watchDir(dir);
      // A folder that appears while running may already hold files written before its watch.
      if (ready) this.sweep(dir);
    });
    this.root.on('unlinkDir', (dir) => this.unwatchDir(dir));
    this.root.on('error', (err) => this.logger.error({ err }, 'scan folder discovery error'));
    // stop() during start: chokidar's close() drops its listeners, so `ready` would never come.
    await new Promise<void>((resolve) => {
      this.root?.once('ready', () => resolve());
      this.abortStart = resolve;
    });
    this.abortStart = undefined;
    ready = true;
  }

  private watchDir(dir: string): boolean {
    if (this.stopped || this.dirWatchers.has(dir)) return true;
    try {
      const w = watch(dir, { persistent: true }, (_event, name) => {
        if (name && isScanFileName(name)) this.onCandidate(path.join(dir, name), nowEpochNs());
      });
      w.on('error', (err) => {
        this.logger.warn({ err, dir }, 'date folder watch ended; watching it again');
        this.unwatchDir(dir);
        this.retryWatch(dir);
      });
      this.dirWatchers.set(dir, w);
      this.retryDelay.delete(dir);
      this.logger.debug({ dir }, 'watching date folder');
      return true;
    } catch (err) {
      // ENOSPC (inotify watch limit) or a passing error: keep trying, or that day is never seen.
      this.logger.error({ err, dir }, 'cannot watch date folder; retrying with backoff');
      this.retryWatch(dir);
      return false;
    }
  }

  /** Watch again after a pause (1 s doubling to 30 s), then sweep what arrived meanwhile. */
  private retryWatch(dir: string): void {
    if (this.stopped || this.retries.has(dir)) return;
    const delayMs = Math.min(30_000, (this.retryDelay.get(dir) ?? 500) * 2);
    this.retryDelay.set(dir, delayMs);
    const timer = setTimeout(() => {
      this.retries.delete(dir);
      if (!existsSync(dir)) return;
      if (this.watchDir(dir)) this.sweep(dir);
    }, delayMs);
    timer.unref();
    this.retries.set(dir, timer);
  }

  private unwatchDir(dir: string): void {
    this.dirWatchers.get(dir)?.close();
    this.dirWatchers.delete(dir);
  }

  private sweep(dir: string): void {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    const files = names.filter(isScanFileName).map((name) => path.join(dir, name));
    if (files.length > 0) this.onSweep(files);
  }

  watchedDirs(): string[] {
    return [...this.dirWatchers.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abortStart?.();
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    for (const dir of [...this.dirWatchers.keys()]) this.unwatchDir(dir);
    await this.root?.close();
  }
}
