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

function plainObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const p = plain(v);
    if (p !== undefined) out[k] = p;
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
      if (v !== undefined) row[name] = v;
    }
    rows.push(row);
  }
  return rows;
}

/** Decodes a scan file's bytes: complete and valid rows, not complete yet, or invalid (with why). */
export function decodeScanFile(bytes: Uint8Array): DecodeResult {
  if (bytes.length === 0) return { kind: 'incomplete', reason: 'empty file', empty: true };
  const shape = ipcCompleteness(bytes);
  if (shape === 'unknown') return { kind: 'incomplete', reason: `only ${bytes.length} bytes`, empty: false };
  if (shape === 'not-arrow') {
    return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_NOT_ARROW.code, reason: 'not an Arrow IPC file or stream (no ARROW1 magic, no continuation marker)' };
  }
  if (!shape.complete) {
    return { kind: 'incomplete', reason: shape.format === 'file' ? 'no Arrow footer yet' : 'no end-of-stream marker yet', empty: false };
  }
  // The scan schema is flat: read it straight from the bytes; anything else goes through Arrow.
  let raws = readFlatIpc(bytes, shape.format);
  if (raws === undefined) {
    try {
      const table = tableFromIPC(bytes);
      // Arrow believes the row count in the metadata: a small file claiming a billion rows
      // would be iterated a billion times. A row takes at least a byte of the file.
      if (table.numRows > Math.min(bytes.length, MAX_ROWS)) {
        return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code, reason: `claims ${table.numRows} rows in ${bytes.length} bytes` };
      }
      raws = tableRows(table);
    } catch (err) {
      return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_CORRUPT.code, reason: `Arrow cannot decode it: ${(err as Error).message}` };
    }
  }
  if (raws.length === 0) return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_NO_ROWS.code, reason: 'no rows' };
  const rows: ScanRecord[] = [];
  for (const [i, raw] of raws.entries()) {
    const parsed = scanRecordSchema.safeParse(raw);
    if (!parsed.success) {
      return { kind: 'invalid', code: ScanFileErrors.DOLPHIN_SCANFILE_BAD_SCHEMA.code, reason: `row ${i}: ${formatIssues(parsed.error.issues).join('; ')}` };
    }
    rows.push(parsed.data);
  }
  return { kind: 'ok', format: shape.format, rows };
}
