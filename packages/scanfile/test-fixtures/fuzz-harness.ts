// The fuzzing of the flat Arrow IPC reader, shared by its property test
// (src/flat-ipc.fuzz.test.ts, a few seconds at a fixed seed) and the longer run in
// bench/fuzz-scanfile.ts: real scan files to start from, the mutations, and the check of one
// input against the reader's promises (no throw, no hang, nothing read outside the input, no
// more values than bytes, and whatever it accepts decoded by apache-arrow to the same values).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Bool, Dictionary, Field, Float32, Float64, Int8, Int16, Int32, Int64, LargeUtf8, List, Table, Uint8, Uint16, Uint32, Uint64, Utf8,
  tableFromIPC, tableToIPC, vectorFromArray, type DataType, type Vector,
} from 'apache-arrow';
import fc from 'fast-check';
import { seededRandom } from '@dolphin/core';
import { readFlatIpc } from '../src/flat-ipc.ts';
import { tableRows } from '../src/read.ts';
import { ScanEncoder } from '../src/scan-encoder.ts';
import { ScanGenerator } from '../src/generator.ts';
import { encodeScans } from '../src/write.ts';

export { readFlatIpc };
export type Format = 'file' | 'stream';
export const FORMATS: readonly Format[] = ['file', 'stream'];

export interface Seed {
  name: string;
  format: Format;
  bytes: Uint8Array;
}

const listOf = (t: DataType) => new List(new Field('item', t, true));
const ipc = (cols: Record<string, Vector>, format: Format) => tableToIPC(new Table(cols), format);

/** Every column type the flat reader reads, with nulls, non-ASCII text and empty lists. */
export function typesColumns(): Record<string, Vector> {
  return {
    i8: vectorFromArray([-5, null, 7], new Int8()),
    i16: vectorFromArray([-300, 2, null], new Int16()),
    i32: vectorFromArray([-70_000, 1, 2], new Int32()),
    i64: vectorFromArray([-(2n ** 40n), 1_800_000_000_123_456_789n, null], new Int64()),
    u8: vectorFromArray([255, 0, 1], new Uint8()),
    u16: vectorFromArray([65_535, 0, 1], new Uint16()),
    u32: vectorFromArray([4_000_000_000, 0, 1], new Uint32()),
    u64: vectorFromArray([2n ** 63n + 5n, 0n, 1n], new Uint64()),
    f32: vectorFromArray([0.1, -2.5, null], new Float32()),
    b: vectorFromArray([true, false, null], new Bool()),
    s: vectorFromArray(['Ünïcødé €', '', null], new Utf8()),
    ls: vectorFromArray([['BTCUSDT', 'ÉTH'], [], null], listOf(new Utf8())),
    li: vectorFromArray([[1, 2, 3], [4], []], listOf(new Int32())),
    lb: vectorFromArray([[true, false], null, [true]], listOf(new Bool())),
    lf: vectorFromArray([[0.5, 1.5], null, [2]], listOf(new Float64())),
  };
}

const FIXTURES = import.meta.dirname;

/**
 * The files the fuzzing starts from: scans written by this package (encodeScans and the
 * ScanEncoder's template path; 1 to 50 assets, 1 and 3 rows), every readable type, small
 * one-column files (where a changed row count is one mutation away), shapes the reader declines
 * (a mutation may turn them into one it reads), and the pyarrow-written fixtures beside this file.
 */
export function seedCorpus(): Seed[] {
  const seeds: Seed[] = [];
  const add = (name: string, format: Format, bytes: Uint8Array) => seeds.push({ name: `${name} (${format})`, format, bytes });
  for (const format of FORMATS) {
    for (const assets of [1, 5, 50]) {
      for (const rows of [1, 3]) {
        const gen = new ScanGenerator({ seed: assets * 10 + rows, assets });
        add(`encodeScans ${rows}x${assets}`, format, encodeScans(Array.from({ length: rows }, (_, i) => gen.next(1.8e18 + i * 5e9)), format));
      }
    }
    const encoder = new ScanEncoder(format);
    const gen = new ScanGenerator({ seed: 7, assets: 20 });
    encoder.encode(gen.next(1.8e18));
    add('ScanEncoder template 1x20', format, encoder.encode(gen.next(1.8e18 + 5e9)));
    add('every type', format, ipc(typesColumns(), format));
    add('one bool column', format, ipc({ b: vectorFromArray(Array.from({ length: 64 }, (_, i) => i % 3 === 0), new Bool()) }, format));
    add('one int8 column', format, ipc({ i: vectorFromArray(Array.from({ length: 16 }, (_, i) => i - 8), new Int8()) }, format));
    add('one list<float64> column', format, ipc({ l: vectorFromArray([[1, 2], [3], []], listOf(new Float64())) }, format));
    add('declined: dictionary', format, ipc({ s: vectorFromArray(['a', 'b', 'a'], new Dictionary(new Utf8(), new Int32())) }, format));
    add('declined: large_utf8', format, ipc({ s: vectorFromArray(['a', 'bc'], new LargeUtf8()) }, format));
    add('declined: list<list>', format, ipc({ l: vectorFromArray([[[1]], [[2, 3]]], listOf(listOf(new Float64()))) }, format));
  }
  for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.arrow')).sort()) {
    add(`pyarrow ${file}`, file.includes('.file.') ? 'file' : 'stream', new Uint8Array(readFileSync(path.join(FIXTURES, file))));
  }
  return seeds;
}

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'byte'; at: number; value: number }
  | { op: 'int16'; at: number; value: number }
  | { op: 'int32'; at: number; value: number }
  | { op: 'add32'; at: number; delta: number }
  | { op: 'int64'; at: number; value: bigint }
  | { op: 'truncate'; length: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; from: number; length: number; to: number };

// Values that sit on the edges the reader must check: signs, widths, alignment, 2^31, 2^53.
const INT16S = [0, 1, 2, 4, 6, 8, 0x7f, 0x80, 0xff, 0x7fff, -0x8000, -1];
const INT32S = [0, 1, -1, 2, 3, 4, 7, 8, 12, 16, 64, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x3fffffff, 0x7fffffff, -0x80000000, -8];
const INT64S = [0n, 1n, -1n, 2n, 3n, 8n, 64n, 1000n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 1n];

const at = fc.nat();
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('byte' as const), at, value: fc.integer({ min: 0, max: 255 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('int16' as const), at, value: fc.oneof(fc.constantFrom(...INT16S), fc.integer({ min: -0x8000, max: 0x7fff })) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('int32' as const), at, value: fc.oneof(fc.constantFrom(...INT32S), fc.integer({ min: -0x80000000, max: 0x7fffffff })) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('add32' as const), at, delta: fc.integer({ min: -16, max: 16 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('int64' as const), at, value: fc.oneof(fc.constantFrom(...INT64S), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), length: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), from: at, length: fc.integer({ min: 1, max: 256 }), to: at }), weight: 1 },
);

/** A fuzz input: which seed, and the mutations applied to it in order. */
export interface FuzzCase {
  seed: number;
  mutations: Mutation[];
}
export const fuzzCaseArb = (seeds: number): fc.Arbitrary<FuzzCase> =>
  fc.record({ seed: fc.nat({ max: seeds - 1 }), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) });

/** The seed's bytes with the mutations applied (a new array; positions wrap around its length). */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = bytes.slice();
  for (const m of mutations) {
    const n = b.length;
    if (n === 0) break;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    // Integer writes land on their natural alignment, as the fields of flatbuffers and Arrow do.
    const aligned = (pos: number, size: number) => {
      const p = (pos % n) - ((pos % n) % size);
      return p + size <= n ? p : -1;
    };
    switch (m.op) {
      case 'flip': b[m.at % n] = (b[m.at % n] as number) ^ (1 << m.bit); break;
      case 'byte': b[m.at % n] = m.value; break;
      case 'int16': { const p = aligned(m.at, 2); if (p >= 0) view.setInt16(p, m.value, true); break; }
      case 'int32': { const p = aligned(m.at, 4); if (p >= 0) view.setInt32(p, m.value, true); break; }
      case 'add32': { const p = aligned(m.at, 4); if (p >= 0) view.setInt32(p, view.getInt32(p, true) + m.delta, true); break; }
      case 'int64': { const p = aligned(m.at, 8); if (p >= 0) view.setBigInt64(p, m.value, true); break; }
      case 'truncate': b = b.slice(0, m.length % n); break;
      case 'insert': { const p = m.at % (n + 1); b = concat(b.subarray(0, p), m.bytes, b.subarray(p)); break; }
      case 'delete': { const p = m.at % n; b = concat(b.subarray(0, p), b.subarray(Math.min(n, p + m.length))); break; }
      case 'duplicate': {
        const from = m.from % n;
        const part = b.slice(from, Math.min(n, from + m.length));
        const to = m.to % (n + 1);
        b = concat(b.subarray(0, to), part, b.subarray(to));
        break;
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * `bytes` copied into the middle of a larger ArrayBuffer whose other bytes come from `fill`
 * (as a Buffer from Node's 8 KB pool sits among other data): anything the reader takes from
 * outside its input shows up as a difference between two such copies.
 */
export function embedded(bytes: Uint8Array, before: number, after: number, fill: (i: number) => number): Uint8Array {
  const all = new Uint8Array(before + bytes.length + after);
  for (let i = 0; i < all.length; i++) all[i] = fill(i);
  all.set(bytes, before);
  return all.subarray(before, before + bytes.length);
}

/** Where two decoded values differ (numbers by Object.is: -0 is not +0, NaN is NaN), or undefined. */
export function difference(a: unknown, b: unknown, at = 'rows'): string | undefined {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? undefined : `${at}: ${a} vs ${b}`;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${at}: ${kind(a)} vs ${kind(b)}`;
    if (a.length !== b.length) return `${at}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = difference(a[i], b[i], `${at}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: different prototypes`;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.join('\u0000') !== kb.join('\u0000')) return `${at}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`;
    for (const k of ka) {
      const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${at}: ${JSON.stringify(a)} (${kind(a)}) vs ${JSON.stringify(b)} (${kind(b)})`;
}
const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** Rows, cells and list items: what the reader built. */
export function valueCount(rows: readonly Record<string, unknown>[]): number {
  let n = rows.length;
  for (const row of rows) {
    for (const k in row) {
      const v = row[k];
      n += 1 + (Array.isArray(v) ? v.length : 0);
    }
  }
  return n;
}

/** A broken promise of the reader, by kind (the bench counts them). */
export type ProblemKind = 'crash' | 'slow' | 'read_past_buffer' | 'unbounded' | 'mismatch_vs_arrow';
export interface Problem {
  kind: ProblemKind;
  format: Format;
  detail: string;
}
export interface Examined {
  /** Formats under which the reader returned rows. */
  accepted: Format[];
  problems: Problem[];
  /** Time spent in readFlatIpc on the exact-size copy, ms, per format. */
  flatMs: number;
}

/** More than this for one input is a hang (or close enough): it only catches hangs, it measures nothing. */
export const SLOW_MS = 1_000;

/**
 * Reads `bytes` with the flat reader as a file and as a stream, alone and embedded among
 * other bytes, and checks what it promises. `rnd` fills the surroundings.
 */
export function examine(bytes: Uint8Array, rnd: () => number): Examined {
  const exact = bytes.slice(); // its own ArrayBuffer, exactly its size
  const noise = Array.from({ length: 96 }, () => Math.floor(rnd() * 256));
  const before = 1 + Math.floor(rnd() * 40);
  const copies = [
    embedded(exact, before, 40, (i) => noise[i % noise.length] as number),
    embedded(exact, before + 3, 17, (i) => 255 - (noise[i % noise.length] as number)),
    // Surrounded by itself: a read past the end finds a plausible start of a file.
    embedded(exact, exact.length, exact.length, (i) => exact[i % Math.max(1, exact.length)] ?? 0),
  ];
  const out: Examined = { accepted: [], problems: [], flatMs: 0 };
  for (const format of FORMATS) {
    const problem = (kind: ProblemKind, detail: string) => out.problems.push({ kind, format, detail });
    let rows: ReturnType<typeof readFlatIpc>;
    const t0 = performance.now();
    try {
      rows = readFlatIpc(exact, format);
    } catch (err) {
      problem('crash', `threw ${(err as Error)?.stack ?? String(err)}`);
      continue;
    }
    const ms = performance.now() - t0;
    out.flatMs += ms;
    if (ms > SLOW_MS) problem('slow', `${Math.round(ms)} ms`);
    for (const copy of copies) {
      let other: ReturnType<typeof readFlatIpc>;
      try {
        other = readFlatIpc(copy, format);
      } catch (err) {
        problem('crash', `threw when embedded at ${copy.byteOffset}: ${String(err)}`);
        continue;
      }
      const d = rows === undefined || other === undefined ? (rows === other ? undefined : `${rows ? 'rows' : 'undefined'} alone, ${other ? 'rows' : 'undefined'} embedded`) : difference(rows, other);
      if (d !== undefined) problem('read_past_buffer', `embedded at ${copy.byteOffset} of ${copy.buffer.byteLength}: ${d}`);
    }
    if (rows === undefined) continue;
    out.accepted.push(format);
    const values = valueCount(rows);
    if (values > bytes.length) problem('unbounded', `${rows.length} rows, ${values} values from ${bytes.length} bytes`);
    let arrow: Record<string, unknown>[];
    try {
      arrow = tableRows(tableFromIPC(exact));
    } catch (err) {
      problem('mismatch_vs_arrow', `read ${rows.length} rows, Arrow throws: ${(err as Error).message}`);
      continue;
    }
    const d = difference(rows, arrow);
    if (d !== undefined) problem('mismatch_vs_arrow', d);
  }
  return out;
}

/** Believable rows for Arrow's path, as decodeScanFile judges them. */
const MAX_ROWS = 100_000;

/** Decodes `bytes` as decodeScanFile falls back to Arrow: tableFromIPC, then tableRows when the row count is believable. False when Arrow throws. */
export function arrowDecode(bytes: Uint8Array): boolean {
  try {
    const table = tableFromIPC(bytes);
    if (table.numRows <= Math.min(bytes.length, MAX_ROWS)) tableRows(table);
    return true;
  } catch {
    return false;
  }
}

/** A seeded random source for one input's surroundings. */
export const surroundings = (seed: number) => seededRandom(seed);
