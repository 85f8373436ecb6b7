// Rows of a flat Arrow IPC file or stream, read straight from the bytes without building an
// Arrow Table. A scan file is one small record batch of scalars and primitive lists; building
// a Table for it (and rows from it) costs ≈ 130 µs and ≈ 100 KB of garbage per scan, this
// ≈ 20 µs and little more than the row itself. Anything outside that shape (dictionaries, compression, large or nested types,
// nulls inside a list) is declined with `undefined` and the caller decodes with Arrow.
//
// The bytes come from any producer, so they are untrusted. Every position is checked against
// the input before it is read (nothing outside it, however the input sits in its ArrayBuffer);
// the rows, cells, list items and text built together never outnumber the input's bytes, each
// count checked before anything is made of it; every loop is bounded by the input's size. And
// the reader accepts only what apache-arrow decodes to the same values: where Arrow would
// throw, hang or read differently (unaligned buffers, pre-V4 metadata, duplicate column names,
// a byte order mark it drops, …) it declines or does as Arrow does. src/flat-ipc.fuzz.test.ts
// holds it to this.
//
// Layouts: https://arrow.apache.org/docs/format/Columnar.html (IPC messages and buffers) and
// the flatbuffers schemas Message.fbs / Schema.fbs / File.fbs of the same format.

type Row = Record<string, unknown>;

/** Thrown (one instance, no stack to capture) for bytes this reader does not read. */
class Decline extends Error {}
const DECLINE = new Decline('not a flat Arrow IPC file');
function decline(): never {
  throw DECLINE;
}

/** More rows than this in one file is not a scan file (usually it holds one); read.ts draws the same line for Arrow. */
const MAX_ROWS = 100_000;
/** 2^53 / 2^32: an int64 whose high word reaches this is beyond a safe integer (Arrow throws on it in metadata). */
const SAFE_HIGH = 0x200000;

/** A little-endian int64 as the nearest number (one rounding, as Number(bigint) does), without a BigInt. */
function int64At(view: DataView, pos: number): number {
  return view.getInt32(pos + 4, true) * 4294967296 + view.getUint32(pos, true);
}
function uint64At(view: DataView, pos: number): number {
  return view.getUint32(pos + 4, true) * 4294967296 + view.getUint32(pos, true);
}

/**
 * The whole input: one DataView and one Buffer over exactly its bytes, and how much may still
 * be built or decoded from it.
 */
class Input {
  readonly view: DataView;
  /** For text: Buffer's UTF-8 decoder (no copy, no view objects), over the input only. */
  readonly text: Buffer;
  readonly length: number;
  /**
   * Rows, cells, list items, metadata entries and bytes of text (each decoded text counted
   * again: ranges may overlap) that may still be made — and that Arrow will then make too:
   * the input's size in all.
   */
  private budget: number;
  constructor(bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
    this.budget = bytes.byteLength;
  }
  spend(n: number): void {
    if (!(n <= this.budget)) decline();
    this.budget -= n;
  }
  /** UTF-8 text of the input's bytes [from, to), as Arrow's TextDecoder reads it (a leading byte order mark dropped). */
  utf8(from: number, to: number): string {
    this.spend(to - from);
    const s = this.text.toString('utf8', from, to);
    return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  }
}

/**
 * Minimal flatbuffers reader over one message's metadata (or the footer): positions are
 * relative to it and checked against it. Signed where flatbuffers' own reader (which Arrow
 * uses) is signed, so both see the same fields.
 */
class Fb {
  readonly in: Input;
  readonly at: number;
  readonly len: number;
  constructor(input: Input, at: number, len: number) {
    this.in = input;
    this.at = at;
    this.len = len;
  }
  private check(pos: number, size: number): number {
    if (!(pos >= 0 && pos + size <= this.len)) decline();
    return this.at + pos;
  }
  u8(pos: number): number {
    return this.in.view.getUint8(this.check(pos, 1));
  }
  i16(pos: number): number {
    return this.in.view.getInt16(this.check(pos, 2), true);
  }
  i32(pos: number): number {
    return this.in.view.getInt32(this.check(pos, 4), true);
  }
  u32(pos: number): number {
    return this.in.view.getUint32(this.check(pos, 4), true);
  }
  /** A non-negative int64 below 2^53 (a length, count or offset), else declined. */
  count(pos: number): number {
    const p = this.check(pos, 8);
    const high = this.in.view.getInt32(p + 4, true);
    if (high < 0 || high >= SAFE_HIGH) decline();
    return high * 4294967296 + this.in.view.getUint32(p, true);
  }
  root(): number {
    return this.u32(0);
  }
  /** Position of field `i` of the table at `t`, or 0 when absent. */
  field(t: number, i: number): number {
    const vt = t - this.i32(t);
    if (4 + 2 * i >= this.i16(vt)) return 0;
    const off = this.i16(vt + 4 + 2 * i);
    return off === 0 ? 0 : t + off;
  }
  /** Scalar field `i` of the table at `t`, read as `type`, or 0 (the schemas' default) when absent. */
  scalar(t: number, i: number, type: 'u8' | 'i16' | 'i32' | 'count'): number {
    const p = this.field(t, i);
    return p === 0 ? 0 : this[type](p);
  }
  /** Follows the offset stored at field `i` (a table, vector or string), or 0 when absent. */
  ref(t: number, i: number): number {
    const p = this.field(t, i);
    return p === 0 ? 0 : p + this.u32(p);
  }
  /** The table at field `i`, which must be there (Arrow throws without it). */
  table(t: number, i: number): number {
    const p = this.ref(t, i);
    if (p === 0) decline();
    return p;
  }
  /** Length of the vector at field `i` (0 when absent), checked to fit with elements of `size` bytes. */
  vectorLength(t: number, i: number, size: number): number {
    const v = this.ref(t, i);
    if (v === 0) return 0;
    const n = this.u32(v);
    this.check(v + 4, n * size);
    return n;
  }
  /** Position of the first element of the vector at field `i` (once vectorLength has checked it). */
  vector(t: number, i: number): number {
    return this.ref(t, i) + 4;
  }
  /** The k-th table of a vector of tables starting at `v`. */
  tableIn(v: number, k: number): number {
    const p = v + 4 * k;
    return p + this.u32(p);
  }
  /** Byte length of the string at `s`, checked to fit. */
  private stringLength(s: number): number {
    const n = this.u32(s);
    this.check(s + 4, n);
    return n;
  }
  /** The string at field `i`, which must be there (Arrow would name the column "null"). */
  string(t: number, i: number): string {
    const s = this.ref(t, i);
    if (s === 0) decline();
    const from = this.at + s + 4;
    return this.in.utf8(from, from + this.stringLength(s));
  }
  /** Counts the string at field `i`, if any, which Arrow decodes (no need to decode it here). */
  checkString(t: number, i: number): void {
    const s = this.ref(t, i);
    if (s !== 0) this.in.spend(this.stringLength(s));
  }
  /** Checks and counts the custom metadata (key-value pairs) at field `i`, which Arrow decodes. */
  checkKeyValues(t: number, i: number): void {
    const n = this.vectorLength(t, i, 4);
    if (n === 0) return;
    this.in.spend(n);
    const v = this.vector(t, i);
    for (let k = 0; k < n; k++) {
      const kv = this.tableIn(v, k);
      this.checkString(kv, 0);
      this.checkString(kv, 1);
    }
  }
}

// Type union tags of Schema.fbs.
const T_INT = 2;
const T_FLOAT = 3;
const T_UTF8 = 5;
const T_BOOL = 6;
const T_LIST = 12;

type Leaf =
  | { kind: 'int'; bytes: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: 'float'; bytes: 4 | 8 }
  | { kind: 'utf8' }
  | { kind: 'bool' };
interface Column { name: string; type: Leaf | { kind: 'list'; item: Leaf } }

// Field table slots of Schema.fbs.
const F_NAME = 0;
const F_TYPE_TAG = 2;
const F_TYPE = 3;
const F_DICTIONARY = 4;
const F_CHILDREN = 5;
const F_METADATA = 6;

/** What Arrow decodes of every field, whatever its type: its dictionary, metadata and children. */
function checkField(fb: Fb, field: number, children: number): void {
  if (fb.field(field, F_DICTIONARY) !== 0) decline();
  fb.checkKeyValues(field, F_METADATA);
  if (fb.vectorLength(field, F_CHILDREN, 4) !== children) decline();
}

function leafType(fb: Fb, field: number): Leaf {
  checkField(fb, field, 0);
  switch (fb.scalar(field, F_TYPE_TAG, 'u8')) {
    case T_INT: {
      const type = fb.table(field, F_TYPE);
      const width = fb.scalar(type, 0, 'i32');
      const signed = fb.scalar(type, 1, 'u8') !== 0;
      if (width !== 8 && width !== 16 && width !== 32 && width !== 64) decline();
      return { kind: 'int', bytes: (width / 8) as 1 | 2 | 4 | 8, signed };
    }
    case T_FLOAT: {
      const precision = fb.scalar(fb.table(field, F_TYPE), 0, 'i16');
      if (precision === 1) return { kind: 'float', bytes: 4 };
      if (precision === 2) return { kind: 'float', bytes: 8 };
      return decline(); // half floats
    }
    case T_UTF8:
      return { kind: 'utf8' };
    case T_BOOL:
      return { kind: 'bool' };
    default:
      return decline();
  }
}

function readSchema(fb: Fb, schema: number): Column[] {
  if (fb.scalar(schema, 0, 'i16') !== 0) decline(); // big-endian
  fb.checkKeyValues(schema, 2);
  const n = fb.vectorLength(schema, 1, 4);
  const fields = fb.vector(schema, 1);
  const columns: Column[] = [];
  const names = new Set<string>();
  for (let i = 0; i < n; i++) {
    const f = fb.tableIn(fields, i);
    const name = fb.string(f, F_NAME);
    // Arrow's rows take a repeated name from its first column; `__proto__` would set a row's prototype.
    if (names.has(name) || name === '__proto__') decline();
    names.add(name);
    if (fb.scalar(f, F_TYPE_TAG, 'u8') === T_LIST) {
      checkField(fb, f, 1);
      const child = fb.tableIn(fb.vector(f, F_CHILDREN), 0);
      fb.checkString(child, F_NAME);
      columns.push({ name, type: { kind: 'list', item: leafType(fb, child) } });
    } else {
      columns.push({ name, type: leafType(fb, f) });
    }
  }
  return columns;
}

// Message table slots of Message.fbs, and its header union tags.
const M_VERSION = 0;
const M_HEADER_TAG = 1;
const M_HEADER = 2;
const M_BODY_LENGTH = 3;
const M_METADATA = 4;
const H_SCHEMA = 1;
const H_RECORD_BATCH = 3;
/** MetadataVersion V4: before it, buffers carried a page id that Arrow skips, and this reader does not. */
const V4 = 3;

interface Message { tag: number; fb: Fb; header: number; version: number; bodyAt: number; bodyLength: number; end: number }

/** The encapsulated message at `pos` (continuation marker optional), or 'eos', or undefined when cut short. */
function messageAt(input: Input, pos: number): Message | 'eos' | undefined {
  const { view, length } = input;
  if (pos < 0 || pos + 4 > length) return undefined;
  let len = view.getInt32(pos, true);
  pos += 4;
  if (len === -1) {
    if (pos + 4 > length) return undefined;
    len = view.getInt32(pos, true);
    pos += 4;
  }
  if (len === 0) return 'eos';
  if (len < 0 || pos + len > length) return undefined;
  const fb = new Fb(input, pos, len);
  const msg = fb.root();
  const bodyAt = pos + len;
  const bodyLength = fb.scalar(msg, M_BODY_LENGTH, 'count');
  if (bodyAt + bodyLength > length) return undefined;
  fb.checkKeyValues(msg, M_METADATA);
  return { tag: fb.scalar(msg, M_HEADER_TAG, 'u8'), fb, header: fb.table(msg, M_HEADER), version: fb.scalar(msg, M_VERSION, 'i16'), bodyAt, bodyLength, end: bodyAt + bodyLength };
}

/** A record batch's nodes and buffers, taken in the order the columns use them. */
class Batch {
  readonly m: Message;
  private readonly nodes: number;
  private readonly buffers: number;
  private node = 0;
  private buffer = 0;
  /** Byte length of the buffer nextBuffer returned last. */
  lastLength = 0;
  constructor(m: Message, nodes: number, buffers: number) {
    this.m = m;
    this.nodes = nodes;
    this.buffers = buffers;
  }
  /** The next node: its length and null count. */
  nextNode(): { length: number; nulls: number } {
    const p = this.nodes + 16 * this.node++;
    return { length: this.m.fb.count(p), nulls: this.m.fb.count(p + 8) };
  }
  /**
   * The next buffer's position in the input, checked to lie in the body, hold `bytes`, and be
   * aligned for values of `width` bytes (Arrow's typed arrays throw otherwise).
   */
  nextBuffer(bytes: number, width: number): number {
    const p = this.buffers + 16 * this.buffer++;
    const offset = this.m.fb.count(p);
    const length = this.m.fb.count(p + 8);
    if (offset + length > this.m.bodyLength || length < bytes || (length > 0 && offset % width !== 0)) decline();
    this.lastLength = length;
    return this.m.bodyAt + offset;
  }
}

/** Where a leaf array's values are, checked to hold `n` of them. */
interface Values { leaf: Leaf; at: number; offsets: number; textLength: number }
function leafValues(batch: Batch, leaf: Leaf, n: number): Values {
  switch (leaf.kind) {
    case 'int':
    case 'float':
      return { leaf, at: batch.nextBuffer(n * leaf.bytes, leaf.bytes), offsets: 0, textLength: 0 };
    case 'bool':
      return { leaf, at: batch.nextBuffer(Math.ceil(n / 8), 1), offsets: 0, textLength: 0 };
    case 'utf8': {
      const offsets = batch.nextBuffer((n + 1) * 4, 4);
      const at = batch.nextBuffer(0, 1);
      return { leaf, at, offsets, textLength: batch.lastLength };
    }
  }
}

function valueAt(input: Input, v: Values, i: number): unknown {
  const view = input.view;
  const leaf = v.leaf;
  switch (leaf.kind) {
    case 'float':
      return leaf.bytes === 8 ? view.getFloat64(v.at + 8 * i, true) : view.getFloat32(v.at + 4 * i, true);
    case 'int': {
      const p = v.at + i * leaf.bytes;
      switch (leaf.bytes) {
        case 1: return leaf.signed ? view.getInt8(p) : view.getUint8(p);
        case 2: return leaf.signed ? view.getInt16(p, true) : view.getUint16(p, true);
        case 4: return leaf.signed ? view.getInt32(p, true) : view.getUint32(p, true);
        default: return leaf.signed ? int64At(view, p) : uint64At(view, p);
      }
    }
    case 'bool':
      return ((view.getUint8(v.at + (i >> 3)) >> (i & 7)) & 1) === 1;
    case 'utf8': {
      const from = view.getInt32(v.offsets + 4 * i, true);
      const to = view.getInt32(v.offsets + 4 * i + 4, true);
      if (from < 0 || to < from || to > v.textLength) decline();
      return input.utf8(v.at + from, v.at + to);
    }
  }
}

/** The validity bit of row `i`, when the array has nulls (`validity` ≥ 0). */
const isValid = (view: DataView, validity: number, i: number) =>
  validity < 0 || ((view.getUint8(validity + (i >> 3)) >> (i & 7)) & 1) === 1;

/** Nodes and buffers one column takes in a record batch. */
const nodesOf = (c: Column) => (c.type.kind === 'list' ? 2 : 1);
const buffersOf = (t: Leaf | { kind: 'list'; item: Leaf }): number => (t.kind === 'list' ? 2 + buffersOf(t.item) : t.kind === 'utf8' ? 3 : 2);

/** The record batch of `m`, its nodes and buffers checked to be exactly as many as the columns take (Arrow decodes them all). */
function openBatch(m: Message, columns: readonly Column[]): { batch: Batch; length: number } {
  const { fb, header: rb } = m;
  if (m.version < V4) decline();
  if (fb.field(rb, 3) !== 0 || fb.vectorLength(rb, 4, 8) !== 0) decline(); // compressed bodies, variadic buffers
  const length = fb.scalar(rb, 0, 'count');
  if (length > MAX_ROWS || columns.length === 0) decline();
  let nodes = 0;
  let buffers = 0;
  for (const c of columns) {
    nodes += nodesOf(c);
    buffers += buffersOf(c.type);
  }
  if (fb.vectorLength(rb, 1, 16) !== nodes || fb.vectorLength(rb, 2, 16) !== buffers) decline();
  return { batch: new Batch(m, fb.vector(rb, 1), fb.vector(rb, 2)), length };
}

function readBatch(input: Input, m: Message, columns: readonly Column[], rows: Row[]): void {
  const { batch, length } = openBatch(m, columns);
  // The rows and their cells, counted before a row is made.
  input.spend((columns.length + 1) * (length + 1));
  const start = rows.length;
  for (let r = 0; r < length; r++) rows.push({});
  const view = input.view;
  for (const col of columns) {
    const node = batch.nextNode();
    if (node.length !== length) decline();
    // Arrow looks at the validity bits only when the null count says there are nulls.
    const validity = batch.nextBuffer(node.nulls > 0 ? Math.ceil(length / 8) : 0, 1);
    const bits = node.nulls > 0 ? validity : -1;
    const name = col.name;
    if (col.type.kind !== 'list') {
      const values = leafValues(batch, col.type, length);
      for (let r = 0; r < length; r++) if (isValid(view, bits, r)) (rows[start + r] as Row)[name] = valueAt(input, values, r);
      continue;
    }
    const offsets = batch.nextBuffer((length + 1) * 4, 4);
    const child = batch.nextNode();
    if (child.nulls !== 0) decline();
    batch.nextBuffer(0, 1); // the items' validity: none is null
    const values = leafValues(batch, col.type.item, child.length);
    const float64 = values.leaf.kind === 'float' && values.leaf.bytes === 8;
    for (let r = 0; r < length; r++) {
      if (!isValid(view, bits, r)) continue;
      const from = view.getInt32(offsets + 4 * r, true);
      const to = view.getInt32(offsets + 4 * r + 4, true);
      if (from < 0 || to < from || to > child.length) decline();
      // Ranges of rows may overlap (Arrow checks no offsets, nor those of null rows): count what is built.
      input.spend(to - from);
      const items = new Array<unknown>(to - from);
      if (float64) for (let k = from; k < to; k++) items[k - from] = view.getFloat64(values.at + 8 * k, true);
      else for (let k = from; k < to; k++) items[k - from] = valueAt(input, values, k);
      (rows[start + r] as Row)[name] = items;
    }
  }
}

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"
const hasMagic = (input: Input) => input.length >= 6 && MAGIC.every((c, i) => input.view.getUint8(i) === c);

/** A file's schema and record batches, from its footer (the stream part may lack the schema). */
function fileParts(input: Input): { columns: Column[]; batches: Message[] } {
  if (input.length < 18) decline();
  const footerLen = input.view.getInt32(input.length - 10, true);
  const footerAt = input.length - 10 - footerLen;
  if (footerLen <= 0 || footerAt < 8) decline();
  const fb = new Fb(input, footerAt, footerLen);
  const footer = fb.root();
  if (fb.vectorLength(footer, 2, 24) !== 0) decline(); // dictionaries
  const columns = readSchema(fb, fb.table(footer, 1));
  const n = fb.vectorLength(footer, 3, 24);
  const blocks = fb.vector(footer, 3);
  const batches: Message[] = [];
  for (let i = 0; i < n; i++) {
    // Block { offset: long, metaDataLength: int, (pad), bodyLength: long }: Arrow takes both longs as safe integers.
    const p = blocks + 24 * i;
    fb.count(p + 16);
    const m = messageAt(input, fb.count(p));
    // On a schema Arrow goes back to the first block, and it rereads a block it does not know: for ever.
    if (m === undefined || m === 'eos' || m.tag !== H_RECORD_BATCH) decline();
    batches.push(m);
  }
  return { columns, batches };
}

/** A stream's schema and record batches, in order. */
function streamParts(input: Input): { columns: Column[]; batches: Message[] } {
  let columns: Column[] | undefined;
  const batches: Message[] = [];
  for (let pos = 0; ;) {
    const m = messageAt(input, pos);
    if (m === undefined) decline();
    // With no record batch before the end-of-stream marker, Arrow reads on past it.
    if (m === 'eos') return columns === undefined || batches.length === 0 ? decline() : { columns, batches };
    // Arrow reads no body after a schema: one there would put the two readers in different places.
    if (m.tag === H_SCHEMA && columns === undefined && m.bodyLength === 0) columns = readSchema(m.fb, m.header);
    else if (m.tag === H_RECORD_BATCH && columns !== undefined) batches.push(m);
    else decline(); // dictionary batches, a second schema, tensors
    pos = m.end;
  }
}

/** The schema and record batches of a file or stream; the format must be the one Arrow takes from the magic. */
function parts(input: Input, format: 'file' | 'stream'): { columns: Column[]; batches: Message[] } {
  if (hasMagic(input) !== (format === 'file')) decline();
  return format === 'file' ? fileParts(input) : streamParts(input);
}

/**
 * Rows of a complete Arrow IPC file or stream whose columns are flat (see the top of this
 * file), or `undefined` when it is not such a file — the caller then decodes it with Arrow.
 * Never throws.
 */
export function readFlatIpc(bytes: Uint8Array, format: 'file' | 'stream'): Row[] | undefined {
  try {
    const input = new Input(bytes);
    const { columns, batches } = parts(input, format);
    const rows: Row[] = [];
    for (const m of batches) readBatch(input, m, columns, rows);
    return rows;
  } catch {
    // A decline, or a check this file lacks: either way Arrow judges the bytes.
    return undefined;
  }
}

/**
 * Where each column's values start (for a list, its items' values; for utf8, its text) in a
 * flat Arrow IPC file or stream of one record batch (what `readFlatIpc` reads), or `undefined`
 * for anything else. The fast scan encoder writes new values into a copy of such bytes.
 */
export function flatValuePositions(bytes: Uint8Array, format: 'file' | 'stream'): Map<string, number> | undefined {
  try {
    const input = new Input(bytes);
    const { columns, batches } = parts(input, format);
    const m = batches.length === 1 ? batches[0] : undefined;
    if (m === undefined) return undefined;
    readBatch(input, m, columns, []); // only bytes readFlatIpc reads
    const { batch } = openBatch(m, columns);
    const out = new Map<string, number>();
    for (const col of columns) {
      batch.nextNode();
      batch.nextBuffer(0, 1); // validity
      if (col.type.kind === 'list') {
        batch.nextBuffer(0, 1); // the list's offsets
        batch.nextNode();
        batch.nextBuffer(0, 1); // the items' validity
      }
      out.set(col.name, leafValues(batch, col.type.kind === 'list' ? col.type.item : col.type, 0).at);
    }
    return out;
  } catch {
    return undefined;
  }
}
