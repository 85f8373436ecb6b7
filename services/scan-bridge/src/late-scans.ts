import { isoMicros, type Logger, type ScanRecord } from '@dolphin/core';
import type { Position } from './scan-order.ts';

/** One warning this often about scans older than the last published, with the true count since the last. */
const WARN_EVERY_MS = 10_000;
/** Scans remembered as published or handed on, so a file seen again is not appended to the history twice (the history's capacity). */
const REMEMBER = 10_000;

/**
 * Scans older than the last published one: refused for the map (it never goes backwards), counted
 * truly in the warnings, and — unless already published — handed on to the history, where a
 * trader still behind them decides them in their place.
 */
export class LateScans {
  private readonly logger: Logger;
  private readonly recent = new Set<number>();
  private count = 0;
  private first: { file: string; scan_number: number; scan_ts: string; last_published: string | undefined } | undefined;
  private warnedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** A scan was published or handed to the history (remembered, bounded). */
  published(timestampNs: number): void {
    this.recent.add(timestampNs);
    if (this.recent.size > REMEMBER) this.recent.delete(this.recent.values().next().value as number);
  }

  /** An older scan was refused; true when it should go to the history (not published before). */
  note(file: string, row: ScanRecord, position: Position | undefined): boolean {
    if (this.recent.has(row.timestamp_ns)) return false; // published, or handed on, already
    this.published(row.timestamp_ns);
    this.count += 1;
    this.first ??= { file, scan_number: row.scan_number, scan_ts: isoMicros(row.timestamp_ns), last_published: position?.file };
    const now = Date.now();
    if (now - this.warnedAt >= WARN_EVERY_MS) this.flush();
    else if (!this.timer) {
      // The rest of a run is said when it is over (or every 10 s), never lost from the count.
      this.timer = setTimeout(() => this.flush(), this.warnedAt + WARN_EVERY_MS - now);
      this.timer.unref();
    }
    return true;
  }

  /** Says how many were refused since the last line (if any). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    this.logger.warn({ refused: this.count, ...this.first },
      `${this.count} scan(s) older than the last published were refused for latest_eigen_scan and added to the scan history (a late file, files arriving out of order, or the producer clock went back)`);
    this.count = 0;
    this.first = undefined;
    this.warnedAt = Date.now();
  }
}
