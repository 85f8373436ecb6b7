import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SCAN_WINDOW_FIELDS, type Exf, type ScanRecord } from '@dolphin/core';
import { Ledger, type InputRow, type SafetyInput } from '@dolphin/ledger';
import { isScanFileName, readScanFileBytes, ScanDecoder } from '@dolphin/scanfile';

/** One day of archived scans, in time order, and what could not be read. */
export interface DayScans {
  scans: ScanRecord[];
  files: number;
  unreadable: Array<{ file: string; reason: string }>;
  ms: number;
  /** Read from the day cache rather than decoded from the files. */
  cached: boolean;
}

const CACHE_VERSION = 2;
const KNOWN = new Set<string>(['scan_number', 'timestamp_ns', 'timestamp_iso', 'schema_version', 'assets', 'asset_prices', 'eigenvalues', ...SCAN_WINDOW_FIELDS]);

/**
 * A scan as one cache line: a JSON array in a fixed order, its asset list an index into the
 * header's (a day's scans share one list: stored once, and shared again when read back).
 */
function toLine(s: ScanRecord, assetIndex: number): string {
  const extras: Record<string, unknown> = {};
  let hasExtras = false;
  for (const k in s) if (!KNOWN.has(k)) { extras[k] = (s as Record<string, unknown>)[k]; hasExtras = true; }
  return JSON.stringify([assetIndex, s.scan_number, s.timestamp_ns, s.timestamp_iso, s.schema_version, SCAN_WINDOW_FIELDS.map((f) => s[f]), s.asset_prices, s.eigenvalues ?? null, hasExtras ? extras : null]);
}

function fromLine(line: string, assets: string[][]): ScanRecord {
  const [a, scanNumber, ts, iso, version, windows, prices, eig, extras] = JSON.parse(line) as [number, number, number, string, string, number[], number[], number[] | null, Record<string, unknown> | null];
  const s: Record<string, unknown> = { scan_number: scanNumber, timestamp_ns: ts, timestamp_iso: iso, schema_version: version };
  for (let i = 0; i < SCAN_WINDOW_FIELDS.length; i++) s[SCAN_WINDOW_FIELDS[i] as string] = windows[i];
  s.assets = assets[a];
  s.asset_prices = prices;
  if (eig) s.eigenvalues = eig;
  if (extras) Object.assign(s, extras);
  return s as ScanRecord;
}
const sha = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 16);

/**
 * The scans of `<scansDir>/<date>/`, decoded (the bridge's reader) and sorted by timestamp.
 * With `cacheDir`, the decoded day is kept as JSON lines and read back the next time (one read
 * instead of one Arrow file per scan: backtests go over the same days again and again). The
 * cache is keyed by the folder's listing and modification time: a file added, removed or
 * renamed makes a new one; rewriting a file in place under the same name does not — delete the
 * cache then.
 */
export async function loadDayScans(scansDir: string, date: string, cacheDir?: string): Promise<DayScans> {
  const t0 = performance.now();
  const dir = path.join(scansDir, date);
  if (!existsSync(dir)) return { scans: [], files: 0, unreadable: [], ms: performance.now() - t0, cached: false };
  const names = readdirSync(dir).filter(isScanFileName).sort();
  const key = `${CACHE_VERSION}|${statSync(dir).mtimeMs}|${names.length}|${sha(names.join('\n'))}`;
  const cacheFile = cacheDir ? path.join(cacheDir, sha(path.resolve(scansDir)), `${date}.jsonl`) : undefined;
  if (cacheFile && existsSync(cacheFile)) {
    const text = readFileSync(cacheFile, 'utf8');
    const nl = text.indexOf('\n');
    const header = JSON.parse(text.slice(0, nl)) as { key: string; unreadable: DayScans['unreadable']; assets: string[][] };
    if (header.key === key) {
      const scans = text.slice(nl + 1).split('\n').filter(Boolean).map((l) => fromLine(l, header.assets));
      return { scans, files: names.length, unreadable: header.unreadable, ms: performance.now() - t0, cached: true };
    }
  }
  const scans: ScanRecord[] = [];
  const unreadable: DayScans['unreadable'] = [];
  // The scan folder is anyone's: sizes are checked before reading, and Arrow's fallback has a
  // deadline, so a damaged or huge file costs a backtest one unreadable entry, not its worker.
  const decoder = new ScanDecoder();
  try {
    for (const name of names) {
      let got;
      try {
        got = readScanFileBytes(path.join(dir, name));
      } catch (err) {
        unreadable.push({ file: name, reason: `cannot be read: ${(err as Error).message}` });
        continue;
      }
      if (got.kind === 'too-large') {
        unreadable.push({ file: name, reason: `${got.size} bytes: larger than any scan, not read` });
        continue;
      }
      const d = decoder.decode(got.bytes);
      const r = d instanceof Promise ? await d : d;
      if (r.kind === 'ok') scans.push(...r.rows);
      else unreadable.push({ file: name, reason: r.reason });
    }
  } finally {
    await decoder.close();
  }
  scans.sort((a, b) => a.timestamp_ns - b.timestamp_ns);
  if (cacheFile) {
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    // Written beside, then renamed: two model-days of the same date may build it at once.
    const tmp = `${cacheFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const lists = new Map<string, number>();
    const lines = scans.map((x) => {
      const k = x.assets.join('\u0000');
      let i = lists.get(k);
      if (i === undefined) lists.set(k, (i = lists.size));
      return toLine(x, i);
    });
    const assets = [...lists.keys()].map((k) => k.split('\u0000'));
    writeFileSync(tmp, `${JSON.stringify({ key, unreadable, assets })}\n${lines.join('\n')}\n`);
    renameSync(tmp, cacheFile);
  }
  return { scans, files: names.length, unreadable, ms: performance.now() - t0, cached: false };
}

/** A series of timestamped changes; `at(ts)` is the last one at or before `ts` (none before the first). */
export class Timeline<T> {
  private readonly ts: number[];
  private readonly values: T[];

  constructor(rows: ReadonlyArray<{ ts: number; value: T }>) {
    const sorted = [...rows].sort((a, b) => a.ts - b.ts);
    this.ts = sorted.map((r) => r.ts);
    this.values = sorted.map((r) => r.value);
  }

  get size(): number {
    return this.ts.length;
  }

  at(ts: number): T | undefined {
    let lo = 0;
    let hi = this.ts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ts[mid] as number) <= ts) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found < 0 ? undefined : this.values[found];
  }

  /** How many changes fall in [from, to). */
  countBetween(from: number, to: number): number {
    return this.ts.filter((t) => t >= from && t < to).length;
  }
}

/** The safety postures a live trader decided with, from its ledger (read-only). */
export function safetyTimeline(ledgerFile: string): Timeline<SafetyInput> {
  if (!existsSync(ledgerFile)) throw new Error(`inputs ledger ${ledgerFile} does not exist`);
  const rows: InputRow[] = Ledger.readInputs(ledgerFile);
  return new Timeline(rows.map((r) => ({ ts: r.fromScanTsNs, value: r.safety })));
}

/** The external factors of exf_latest, one file each (`ts,value` CSV or `{ts, value}` JSONL). */
export const EXF_FACTORS = ['funding_btc', 'dvol_btc', 'fear_greed', 'taker_ratio'] as const;

function readSeries(file: string): Array<{ ts: number; value: number }> {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const bad = (n: number, why: string) => new Error(`indicator archive ${file} line ${n}: ${why}`);
  if (file.endsWith('.csv')) {
    const header = (lines.shift() ?? '').split(',').map((h) => h.trim());
    const [ti, vi] = [header.indexOf('ts'), header.indexOf('value')];
    if (ti < 0 || vi < 0) throw bad(1, 'the header needs "ts" and "value" columns');
    return lines.map((l, i) => {
      const cols = l.split(',');
      const ts = Date.parse(cols[ti] ?? '') * 1e6;
      const value = Number(cols[vi]);
      if (!Number.isFinite(ts) || !Number.isFinite(value)) throw bad(i + 2, `cannot read "${l}"`);
      return { ts, value };
    });
  }
  return lines.map((l, i) => {
    const row = JSON.parse(l) as { ts?: string; value?: number };
    const ts = Date.parse(row.ts ?? '') * 1e6;
    if (!Number.isFinite(ts) || typeof row.value !== 'number') throw bad(i + 1, 'needs "ts" (ISO) and a numeric "value"');
    return { ts, value: row.value };
  });
}

/** exf_latest as it stood at any time, from a folder of factor series (absent factors stay null). */
export function exfTimeline(dir: string): { at(ts: number): Exf | undefined; countBetween(from: number, to: number): number } {
  const series = new Map<string, Timeline<number>>();
  for (const f of EXF_FACTORS) {
    const file = [`${f}.csv`, `${f}.jsonl`].map((n) => path.join(dir, n)).find((p) => existsSync(p));
    if (file) series.set(f, new Timeline(readSeries(file).map((r) => ({ ts: r.ts, value: r.value }))));
  }
  const times = [...series.values()];
  return {
    at(ts) {
      const values = Object.fromEntries(EXF_FACTORS.map((f) => [f, series.get(f)?.at(ts) ?? null]));
      if (EXF_FACTORS.every((f) => values[f] === null)) return undefined;
      return { ...values, _pushed_at: new Date(ts / 1e6).toISOString() } as unknown as Exf;
    },
    countBetween: (from, to) => times.reduce((n, t) => n + t.countBetween(from, to), 0),
  };
}
