import { Worker } from 'node:worker_threads';
import { tableFromIPC, Vector, type Table } from 'apache-arrow';
import { scanRecordSchema, formatIssues, type ScanRecord } from '@dolphin/core';
import { ScanFileErrors } from './errors.ts';
import { readFlatIpc } from './flat-ipc.ts';

export type IpcFormat = 'file' | 'stream';

export type DecodeResult =
  | { kind: 'ok'; format: IpcFormat; rows: ScanRecord[] }
  /** Not complete yet (still being written): read it again on its next change. */
  | { kind: 'incomplete'; reason: string; empty: boolean }
  | { kind: 'invalid'; code: string; reason: string };

const ARROW_WORKER = new URL('./arrow-worker.ts', import.meta.url);

/** More rows than this in one file is not a scan file (usually it holds one). */
const MAX_ROWS = 100_000;

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function startsWithMagic(b: Uint8Array): boolean {
  return MAGIC.every((c, i) => b[i] === c);
}
/** Ends with the footer length (int32) and the magic, and that length fits the file. */
function endsWithFooter(b: Uint8Array): boolean {
  const o = b.length - MAGIC.length;
  if (o <= MAGIC.length + 4 || !MAGIC.every((c, i) => b[o + i] === c)) return false;
  const footerLen = new DataView(b.buffer, b.byteOffset + o - 4, 4).getInt32(0, true);
  return footerLen > 0 && footerLen <= o - 4 - 8;
}
function startsWithContinuation(b: Uint8Array): boolean {
  return b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff;
}
/** Stream end-of-stream marker: continuation 0xFFFFFFFF then a zero length. */
function endsWithEos(b: Uint8Array): boolean {
  const n = b.length;
  return n >= 16 && b[n - 8] === 0xff && b[n - 7] === 0xff && b[n - 6] === 0xff && b[n - 5] === 0xff
    && b[n - 4] === 0 && b[n - 3] === 0 && b[n - 2] === 0 && b[n - 1] === 0;
}

/**
 * Whether `bytes` hold a whole Arrow IPC file (magic at both ends) or stream (continuation at
 * the start, end-of-stream marker at the end). Completeness is judged from the bytes, so a
 * file being written in place is never decoded half-way and no fixed sleep is needed.
 */
export function ipcCompleteness(bytes: Uint8Array): { format: IpcFormat; complete: boolean } | 'unknown' | 'not-arrow' {
  if (bytes.length < MAGIC.length) return 'unknown';
  if (startsWithMagic(bytes)) return { format: 'file', complete: endsWithFooter(bytes) };
  if (startsWithContinuation(bytes)) return { format: 'stream', complete: endsWithEos(bytes) };
  return 'not-arrow';
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'bigint':
      return Number(v);
    case 'object':
      if (v instanceof Vector) return plain(v.toArray());
      // Float lists are the bulk of a scan (prices, eigenvalues): copy without a per-item call.
      if (v instanceof Float64Array || v instanceof Float32Array || v instanceof Int32Array) return Array.from(v);
      if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return plainObject((v as { toJSON(): Record<string, unknown> }).toJSON());
      return v;
    default:
      return v;
  }
}

/** An own property even when the name is `__proto__` (an assignment would set the prototype). */
function own(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function plainObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const p = plain(v);
    if (p !== undefined) own(out, k, p);
  }
  return out;
}

/**
 * Rows of a table as plain objects: int64 → number, lists → arrays, dictionary and large
 * types → their values, nulls dropped (so a null in a required column reads as missing).
 */
export function tableRows(table: Table): Record<string, unknown>[] {
  const columns = table.schema.fields.map((f) => [f.name, table.getChild(f.name)] as const);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const [name, col] of columns) {
      const v = plain(col?.get(i));
      if (v !== undefined) own(row, name, v);
    }
    rows.push(row);
  }
  return rows;
}

/** What the bytes are before any decoding: a result already, or a complete file or stream of that format. */
type Framing = { result: DecodeResult } | { format: IpcFormat };

function framing(bytes: Uint8Array): Framing {
  if (bytes.length === 0) return { result: { kind: 'incomplete', reason: 'empty file', empty: true } };
  const shape = ipcCompleteness(bytes);
  if (shape === 'unknown') return { result: { kind: 'incomplete', reason: `only ${bytes.length} bytes`, empty: false } };
  if (shape === 'not-arrow') {
    return { result: { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_NOT_ARROW.code, reason: 'not an Arrow IPC file or stream (no ARROW1 magic, no continuation marker)' } };
  }
  if (!shape.complete) {
    return { result: { kind: 'incomplete', reason: shape.format === 'file' ? 'no Arrow footer yet' : 'no end-of-stream marker yet', empty: false } };
  }
  return { format: shape.format };
}

/** Rows through apache-arrow (anything the flat reader declines), or why they cannot be had. */
export function arrowRows(bytes: Uint8Array): { rows: Record<string, unknown>[] } | { code: string; reason: string } {
  try {
    const table = tableFromIPC(bytes);
    // Arrow believes the row count in the metadata: a small file claiming a billion rows
    // would be iterated a billion times. A row takes at least a byte of the file.
    if (table.numRows > Math.min(bytes.length, MAX_ROWS)) {
      return { code: ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code, reason: `claims ${table.numRows} rows in ${bytes.length} bytes` };
    }
    return { rows: tableRows(table) };
  } catch (err) {
    return { code: ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code, reason: `Arrow cannot decode it: ${(err as Error).message}` };
  }
}

/** Raw rows checked against the scan schema. */
function checked(raws: Record<string, unknown>[], format: IpcFormat): DecodeResult {
  if (raws.length === 0) return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_NO_ROWS.code, reason: 'no rows' };
  const rows: ScanRecord[] = [];
  for (const [i, raw] of raws.entries()) {
    const parsed = scanRecordSchema.safeParse(raw);
    if (!parsed.success) {
      return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_BAD_SCHEMA.code, reason: `row ${i}: ${formatIssues(parsed.error.issues).join('; ')}` };
    }
    rows.push(parsed.data);
  }
  return { kind: 'ok', format, rows };
}

/**
 * Decodes a scan file's bytes: complete and valid rows, not complete yet, or invalid (with why).
 * In this thread, apache-arrow included: for trusted files (an archive one's own, tests). Bytes
 * from anyone — the scan folder — go through a ScanDecoder, which gives Arrow a deadline.
 */
export function decodeScanFile(bytes: Uint8Array): DecodeResult {
  const f = framing(bytes);
  if ('result' in f) return f.result;
  // The scan schema is flat: read it straight from the bytes; anything else goes through Arrow.
  const flat = readFlatIpc(bytes, f.format);
  if (flat !== undefined) return checked(flat, f.format);
  const a = arrowRows(bytes);
  return 'rows' in a ? checked(a.rows, f.format) : { kind: 'invalid', ...a };
}

/**
 * Decodes untrusted scan files. The flat reader (every scan Dolphin's producers write, bounded
 * and fuzzed) answers at once, in this thread; what it declines goes to apache-arrow in a worker
 * thread with a deadline, because Arrow can loop forever on a damaged file (a footer block
 * pointing at the schema message does it): a file that takes longer is invalid, the worker is
 * replaced, and the reader goes on.
 */
export class ScanDecoder {
  private readonly timeoutMs: number;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: { rows: Record<string, unknown>[] } | { code: string; reason: string }) => void>();

  constructor(options: { arrowTimeoutMs?: number } = {}) {
    this.timeoutMs = options.arrowTimeoutMs ?? 2_000;
  }

  /** Synchronous when the flat reader (or the framing) decides; a promise when Arrow must. */
  decode(bytes: Uint8Array): DecodeResult | Promise<DecodeResult> {
    const f = framing(bytes);
    if ('result' in f) return f.result;
    const flat = readFlatIpc(bytes, f.format);
    if (flat !== undefined) return checked(flat, f.format);
    return this.viaArrow(bytes).then((a) => ('rows' in a ? checked(a.rows, f.format) : { kind: 'invalid', ...a }));
  }

  private viaArrow(bytes: Uint8Array): Promise<{ rows: Record<string, unknown>[] } | { code: string; reason: string }> {
    const w = (this.worker ??= this.spawn());
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        // Stuck inside Arrow: only ending the thread stops it. Whatever else waited on it fails too.
        this.reset(`Arrow did not finish decoding it within ${this.timeoutMs} ms`);
        resolve({ code: ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code, reason: `Arrow did not finish decoding it within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      // The worker takes a copy of its own (a Buffer may be a view of a shared pool); the caller keeps its bytes.
      const copy = new Uint8Array(bytes);
      w.postMessage({ id, bytes: copy }, [copy.buffer]);
    });
  }

  private spawn(): Worker {
    const w = new Worker(ARROW_WORKER);
    w.unref();
    w.on('message', (m: { id: number; rows?: Record<string, unknown>[]; code?: string; reason?: string }) => {
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m.rows ? { rows: m.rows } : { code: m.code as string, reason: m.reason as string });
    });
    w.on('error', (err) => this.reset(`Arrow's worker failed: ${err.message}`));
    return w;
  }

  private reset(why: string): void {
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
    for (const [id, done] of this.waiting) {
      this.waiting.delete(id);
      done({ code: ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code, reason: why });
    }
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
