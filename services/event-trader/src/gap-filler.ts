import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Ringbuffer } from 'hazelcast-client';
import type { Logger, ScanRecord } from '@dolphin/core';
import type { UnreadableInRange } from '@dolphin/scanfile';

/**
 * packages/scanfile (and apache-arrow under it) loads in ≈ 0.3 s: only when a gap is filled,
 * never on the way to the trader's readiness (a restart after a kill is ready that much sooner).
 */
type ScanFileLib = typeof import('@dolphin/scanfile');
let lib: Promise<ScanFileLib> | undefined;
const scanfile = (): Promise<ScanFileLib> => (lib ??= import('@dolphin/scanfile'));

export type ScanSource = 'files' | 'history';

export interface MissedScan {
  scan: ScanRecord;
  source: ScanSource;
}

export interface GapFillerOptions {
  /** The scan folder: the durable record of every scan the producer wrote. */
  scanDir?: string;
  /** Where the bridge moves files it cannot read (reasons beside them). */
  quarantineDir?: string;
  /** The bridge's scan history (a Ringbuffer in the cluster): scans of files since removed. */
  history?: () => Promise<Ringbuffer<string>>;
  /** A history entry's scan, after its seal is checked; throws for one that is not Dolphin's. */
  openHistory?: (text: string) => ScanRecord;
  /** Largest scan file read (the bridge's limit). */
  maxScanBytes?: number;
  logger: Logger;
}

/** How far back the history is read for one gap (its capacity). */
const HISTORY_MAX = 10_000;

/**
 * Where a trader finds the scans it did not decide: the scan files themselves, read through
 * packages/scanfile (they outlive any member and any restart), and the bridge's history in the
 * cluster (scans whose files have gone). Scans come oldest first, each once; `explain` says why
 * numbers that were never found are missing.
 */
export class GapFiller {
  private readonly o: GapFillerOptions;
  private lastUnreadable: UnreadableInRange[] = [];

  constructor(options: GapFillerOptions) {
    this.o = options;
  }

  /** Every scan strictly between the two times (no upper bound: up to the newest), oldest first. */
  async *between(afterNs: number, beforeNs: number | undefined): AsyncGenerator<MissedScan> {
    const fromHistory = await this.readHistory(afterNs, beforeNs);
    let h = 0;
    const seen = new Set<number>();
    this.lastUnreadable = [];
    if (this.o.scanDir) {
      const { scansInRange } = await scanfile();
      for await (const chunk of scansInRange(this.o.scanDir, { afterNs, ...(beforeNs !== undefined ? { beforeNs } : {}), ...(this.o.maxScanBytes ? { maxBytes: this.o.maxScanBytes } : {}) })) {
        this.lastUnreadable.push(...chunk.unreadable);
        for (const { scan } of chunk.scans) {
          // History scans older than this file's scan come first: one stream in time order.
          while (h < fromHistory.length && (fromHistory[h] as ScanRecord).timestamp_ns < scan.timestamp_ns) {
            const hs = fromHistory[h++] as ScanRecord;
            if (!seen.has(hs.timestamp_ns)) { seen.add(hs.timestamp_ns); yield { scan: hs, source: 'history' }; }
          }
          if (seen.has(scan.timestamp_ns)) continue;
          seen.add(scan.timestamp_ns);
          yield { scan, source: 'files' };
        }
      }
    }
    for (; h < fromHistory.length; h++) {
      const hs = fromHistory[h] as ScanRecord;
      if (!seen.has(hs.timestamp_ns)) { seen.add(hs.timestamp_ns); yield { scan: hs, source: 'history' }; }
    }
  }

  /** The history's scans in the range, oldest first; none when it cannot be read (logged). */
  private async readHistory(afterNs: number, beforeNs: number | undefined): Promise<ScanRecord[]> {
    if (!this.o.history || !this.o.openHistory) return [];
    const out: ScanRecord[] = [];
    try {
      const rb = await this.o.history();
      const head = (await rb.headSequence()).toNumber();
      const tail = (await rb.tailSequence()).toNumber();
      // Newest first, back until entries are older than the gap. Late scans may sit out of order
      // among the last few, so a few older entries are tolerated before stopping.
      let older = 0;
      for (let seq = tail; seq >= head && seq >= 0 && tail - seq < HISTORY_MAX && older < 64; seq--) {
        let scan: ScanRecord;
        try {
          scan = this.o.openHistory(await rb.readOne(seq));
        } catch (err) {
          this.o.logger.warn({ err, seq }, 'scan history entry refused (unreadable or not sealed by Dolphin); skipped');
          continue;
        }
        if (scan.timestamp_ns <= afterNs) { older++; continue; }
        if (beforeNs === undefined || scan.timestamp_ns < beforeNs) out.push(scan);
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'could not read the scan history; filling from the scan files alone');
    }
    return out.sort((a, b) => a.timestamp_ns - b.timestamp_ns);
  }

  /**
   * Why scans numbered `from`..`to` were never found: quarantined (with the bridge's reason),
   * unreadable in the folder, or nowhere.
   */
  async explain(from: number, to: number, afterNs: number, beforeNs: number): Promise<string> {
    const { SCAN_FILE_RE } = await scanfile();
    const numberOf = (name: string) => {
      const m = SCAN_FILE_RE.exec(name);
      return m ? Number(m[1]) : undefined;
    };
    const why = new Map<number, string>();
    for (const u of this.lastUnreadable) {
      const n = numberOf(path.basename(u.file));
      if (n !== undefined && n >= from && n <= to) why.set(n, `${u.code}: ${u.reason}`);
    }
    if (this.o.quarantineDir && existsSync(this.o.quarantineDir)) {
      // Numbers restart with the producer: only the date folders the gap spans (a day either side).
      const days = [dayOf(afterNs - 86_400e9), dayOf(beforeNs + 86_400e9)] as const;
      for (const [n, reason] of quarantined(this.o.quarantineDir, from, to, days, numberOf)) if (!why.has(n)) why.set(n, `quarantined, ${reason}`);
    }
    const parts: string[] = [];
    const nowhere: number[] = [];
    for (let n = from; n <= to && n - from < 10_000; n++) {
      const w = why.get(n);
      if (w) parts.push(`scan ${n} ${w}`);
      else nowhere.push(n);
    }
    if (nowhere.length > 0) {
      const span = nowhere.length === 1 ? `scan ${nowhere[0]}` : `${nowhere.length} scans (${nowhere[0]}–${nowhere.at(-1)})`;
      parts.push(`${span} not in the scan folder, its quarantine or the scan history`);
    }
    return parts.slice(0, 20).join('; ') + (parts.length > 20 ? `; and ${parts.length - 20} more` : '');
  }
}

const dayOf = (ns: number) => new Date(ns / 1e6).toISOString().slice(0, 10);

/** Quarantined scan files numbered from..to and their reasons (from the reason files). */
function quarantined(dir: string, from: number, to: number, [fromDay, toDay]: readonly [string, string], numberOf: (name: string) => number | undefined): Map<number, string> {
  const out = new Map<number, string>();
  let days: string[];
  try {
    days = readdirSync(dir);
  } catch {
    return out;
  }
  for (const d of days) {
    if (d < fromDay || d > toDay) continue;
    let names: string[];
    try {
      names = readdirSync(path.join(dir, d));
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.reason.json')) continue;
      const n = numberOf(name.slice(0, -'.reason.json'.length));
      if (n === undefined || n < from || n > to) continue;
      try {
        const r = JSON.parse(readFileSync(path.join(dir, d, name), 'utf8')) as { code?: string; reason?: string };
        out.set(n, `${r.code ?? '?'}: ${r.reason ?? ''}`);
      } catch {
        out.set(n, 'reason file unreadable');
      }
    }
  }
  return out;
}
