// Rows of a flat Arrow IPC file or stream, read straight from the bytes without building an
// Arrow Table. A scan file is one small record batch of scalars and primitive lists; building
// a Table for it (and rows from it) costs ≈ 130 µs and ≈ 100 KB of garbage per scan, this
// ≈ 20 µs and little more than the row itself. Anything outside that shape (dictionaries, compression, large or nested types,
// nulls inside a list) is declined with `undefined` and the caller decodes with Arrow.
//
// Layouts: https://arrow.apache.org/docs/format/Columnar.html (IPC messages and buffers) and
// the flatbuffers schemas Message.fbs / Schema.fbs of the same format.

type Row = Record<string, unknown>;

/** Thrown for bytes that cannot be a valid message; the caller lets Arrow say what is wrong. */
class Decline extends Error {}

/** UTF-8 text of `length` bytes at `pos` of `view` (Buffer's decoder: no copy, no view objects). */
function text(view: DataView, pos: number, length: number): string {
  return Buffer.from(view.buffer).toString('utf8', view.byteOffset + pos, view.byteOffset + pos + length);
}

/** A little-endian int64 as the nearest number (one rounding, as Number(bigint) does), without a BigInt. */
function int64At(view: DataView, pos: number): number {
  return view.getInt32(pos + 4, true) * 4294967296 + view.getUint32(pos, true);
}
function uint64At(view: DataView, pos: number): number {
  return view.getUint32(pos + 4, true) * 4294967296 + view.getUint32(pos, true);
}

/** Minimal flatbuffers table reader over one message's metadata. */
class Fb {
  readonly view: DataView;
  constructor(view: DataView) {
    this.view = view;
  }
  private check(pos: number, size: number): number {
    if (pos < 0 || pos + size > this.view.byteLength) throw new Decline();
    return pos;
  }
  u8(pos: number): number {
    return this.view.getUint8(this.check(pos, 1));
  }
  i16(pos: number): number {
    return this.view.getInt16(this.check(pos, 2), true);
  }
  i32(pos: number): number {
    return this.view.getInt32(this.check(pos, 4), true);
  }
  u32(pos: number): number {
    return this.view.getUint32(this.check(pos, 4), true);
  }
  i64(pos: number): number {
    return int64At(this.view, this.check(pos, 8));
  }
  root(): number {
    return this.u32(0);
  }
  /** Position of field `i` of the table at `t`, or 0 when absent. */
  field(t: number, i: number): number {
    const vt = t - this.i32(t);
    const vtSize = this.view.getUint16(this.check(vt, 2), true);
    if (4 + 2 * i >= vtSize) return 0;
    const off = this.view.getUint16(this.check(vt + 4 + 2 * i, 2), true);
    return off === 0 ? 0 : t + off;
  }
  /** Scalar field `i` of the table at `t`, read as `type`, or 0 (the schemas' default) when absent. */
  scalar(t: number, i: number, type: 'u8' | 'i16' | 'i32' | 'i64'): number {
    const p = this.field(t, i);
    return p === 0 ? 0 : this[type](p);
  }
  /** Follows the offset stored at field `i` (a table, vector or string), or 0 when absent. */
  ref(t: number, i: number): number {
    const p = this.field(t, i);
    return p === 0 ? 0 : p + this.u32(p);
  }
  vectorLength(v: number): number {
    return v === 0 ? 0 : this.u32(v);
  }
  /** The i-th table of a vector of tables. */
  tableAt(v: number, i: number): number {
    const p = v + 4 + 4 * i;
    return p + this.u32(p);
  }
  string(s: number): string {
    const n = this.u32(s);
    this.check(s + 4, n);
    return text(this.view, s + 4, n);
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

function leafType(fb: Fb, field: number): Leaf {
  if (fb.ref(field, 4) !== 0) throw new Decline(); // dictionary-encoded
  const tag = fb.scalar(field, 2, 'u8');
  const type = fb.ref(field, 3);
  switch (tag) {
    case T_INT: {
      const width = fb.scalar(type, 0, 'i32');
      const signed = fb.scalar(type, 1, 'u8') !== 0;
      if (width !== 8 && width !== 16 && width !== 32 && width !== 64) throw new Decline();
      return { kind: 'int', bytes: (width / 8) as 1 | 2 | 4 | 8, signed };
    }
    case T_FLOAT: {
      const precision = fb.scalar(type, 0, 'i16');
      if (precision === 1) return { kind: 'float', bytes: 4 };
      if (precision === 2) return { kind: 'float', bytes: 8 };
      throw new Decline(); // half floats
    }
    case T_UTF8:
      return { kind: 'utf8' };
    case T_BOOL:
      return { kind: 'bool' };
    default:
      throw new Decline();
  }
}

function readSchema(fb: Fb, schema: number): Column[] {
  if (fb.scalar(schema, 0, 'i16') !== 0) throw new Decline(); // big-endian
  const fields = fb.ref(schema, 1);
  const columns: Column[] = [];
  for (let i = 0; i < fb.vectorLength(fields); i++) {
    const f = fb.tableAt(fields, i);
    const name = fb.string(fb.ref(f, 0));
    const tag = fb.scalar(f, 2, 'u8');
    if (tag === T_LIST) {
      if (fb.ref(f, 4) !== 0) throw new Decline();
      const children = fb.ref(f, 5);
      if (fb.vectorLength(children) !== 1) throw new Decline();
      columns.push({ name, type: { kind: 'list', item: leafType(fb, fb.tableAt(children, 0)) } });
    } else {
      columns.push({ name, type: leafType(fb, f) });
    }
  }
  return columns;
}

/** The record batch's nodes and buffers, bounds-checked against its body. */
class Batch {
  readonly nodes: Array<{ length: number; nulls: number }> = [];
  readonly buffers: Array<{ offset: number; length: number }> = [];
  readonly body: DataView;
  private node = 0;
  private buffer = 0;
  constructor(fb: Fb, rb: number, body: DataView) {
    this.body = body;
    const nodes = fb.ref(rb, 1);
    for (let i = 0; i < fb.vectorLength(nodes); i++) {
      const p = nodes + 4 + 16 * i;
      this.nodes.push({ length: fb.i64(p), nulls: fb.i64(p + 8) });
    }
    const buffers = fb.ref(rb, 2);
    for (let i = 0; i < fb.vectorLength(buffers); i++) {
      const p = buffers + 4 + 16 * i;
      const b = { offset: fb.i64(p), length: fb.i64(p + 8) };
      if (b.offset < 0 || b.length < 0 || b.offset + b.length > body.byteLength) throw new Decline();
      this.buffers.push(b);
    }
  }
  nextNode(): { length: number; nulls: number } {
    const n = this.nodes[this.node++];
    if (!n || n.length < 0 || n.nulls < 0) throw new Decline();
    return n;
  }
  nextBuffer(): { offset: number; length: number } {
    const b = this.buffers[this.buffer++];
    if (!b) throw new Decline();
    return b;
  }
  done(): boolean {
    return this.node === this.nodes.length && this.buffer === this.buffers.length;
  }
}

/** Values of one leaf array after its validity buffer: `get(i)` for i < length (the caller skips nulls). */
function leafReader(batch: Batch, leaf: Leaf, node: { length: number; nulls: number }): (i: number) => unknown {
  const body = batch.body;
  const need = (b: { offset: number; length: number }, bytes: number) => {
    if (b.length < bytes) throw new Decline();
    return b.offset;
  };
  switch (leaf.kind) {
    case 'int': {
      const base = need(batch.nextBuffer(), node.length * leaf.bytes);
      const { bytes, signed } = leaf;
      return (i) => {
        const p = base + i * bytes;
        switch (bytes) {
          case 1: return signed ? body.getInt8(p) : body.getUint8(p);
          case 2: return signed ? body.getInt16(p, true) : body.getUint16(p, true);
          case 4: return signed ? body.getInt32(p, true) : body.getUint32(p, true);
          default: return signed ? int64At(body, p) : uint64At(body, p);
        }
      };
    }
    case 'float': {
      const base = need(batch.nextBuffer(), node.length * leaf.bytes);
      return leaf.bytes === 8 ? (i) => body.getFloat64(base + 8 * i, true) : (i) => body.getFloat32(base + 4 * i, true);
    }
    case 'bool': {
      const base = need(batch.nextBuffer(), Math.ceil(node.length / 8));
      return (i) => ((body.getUint8(base + (i >> 3)) >> (i & 7)) & 1) === 1;
    }
    case 'utf8': {
      const offsets = need(batch.nextBuffer(), (node.length + 1) * 4);
      const data = batch.nextBuffer();
      const all = Buffer.from(body.buffer);
      const base = body.byteOffset + data.offset;
      return (i) => {
        const from = body.getInt32(offsets + 4 * i, true);
        const to = body.getInt32(offsets + 4 * i + 4, true);
        if (from < 0 || to < from || to > data.length) throw new Decline();
        return all.toString('utf8', base + from, base + to);
      };
    }
  }
}

const isValid = (body: DataView, validity: { offset: number; length: number }, nulls: number, i: number) =>
  nulls === 0 || ((body.getUint8(validity.offset + (i >> 3)) >> (i & 7)) & 1) === 1;

function readBatch(fb: Fb, rb: number, body: DataView, columns: readonly Column[], rows: Row[]): void {
  if (fb.ref(rb, 3) !== 0) throw new Decline(); // compressed bodies
  const length = fb.scalar(rb, 0, 'i64');
  const batch = new Batch(fb, rb, body);
  // Every column holds `length` values in the body: no bigger row count is believable.
  if (columns.length === 0 || length > body.byteLength * 8) throw new Decline();
  const start = rows.length;
  for (let r = 0; r < length; r++) rows.push({});
  for (const col of columns) {
    const node = batch.nextNode();
    if (node.length !== length) throw new Decline();
    const validity = batch.nextBuffer();
    if (node.nulls > 0 && validity.length < Math.ceil(length / 8)) throw new Decline();
    if (col.type.kind !== 'list') {
      const get = leafReader(batch, col.type, node);
      for (let r = 0; r < length; r++) if (isValid(body, validity, node.nulls, r)) (rows[start + r] as Row)[col.name] = get(r);
      continue;
    }
    const offsets = batch.nextBuffer();
    if (offsets.length < (length + 1) * 4) throw new Decline();
    const child = batch.nextNode();
    if (child.nulls !== 0) throw new Decline();
    batch.nextBuffer(); // the items' validity: none is null
    const get = leafReader(batch, col.type.item, child);
    for (let r = 0; r < length; r++) {
      if (!isValid(body, validity, node.nulls, r)) continue;
      const from = body.getInt32(offsets.offset + 4 * r, true);
      const to = body.getInt32(offsets.offset + 4 * r + 4, true);
      if (from < 0 || to < from || to > child.length) throw new Decline();
      const values = new Array<unknown>(to - from);
      for (let k = from; k < to; k++) values[k - from] = get(k);
      (rows[start + r] as Row)[col.name] = values;
    }
  }
  if (!batch.done()) throw new Decline();
}


// Message header union tags of Message.fbs.
const H_SCHEMA = 1;
const H_RECORD_BATCH = 3;

interface Message { tag: number; fb: Fb; header: number; body: DataView; end: number }

/** The encapsulated message at `pos` (continuation marker optional), or 'eos', or undefined when cut short. */
function messageAt(bytes: Uint8Array, all: DataView, pos: number): Message | 'eos' | undefined {
  if (pos < 0 || pos + 4 > bytes.length) return undefined;
  let len = all.getInt32(pos, true);
  pos += 4;
  if (len === -1) {
    if (pos + 4 > bytes.length) return undefined;
    len = all.getInt32(pos, true);
    pos += 4;
  }
  if (len === 0) return 'eos';
  if (len < 0 || pos + len > bytes.length) return undefined;
  const fb = new Fb(new DataView(bytes.buffer, bytes.byteOffset + pos, len));
  pos += len;
  const msg = fb.root();
  const tag = fb.scalar(msg, 1, 'u8');
  const bodyLength = fb.scalar(msg, 3, 'i64');
  if (bodyLength < 0 || pos + bodyLength > bytes.length) return undefined;
  return { tag, fb, header: fb.ref(msg, 2), body: new DataView(bytes.buffer, bytes.byteOffset + pos, bodyLength), end: pos + bodyLength };
}

/** A file's schema and record batches, from its footer (the stream part may lack the schema). */
function fileParts(bytes: Uint8Array, all: DataView): { columns: Column[]; batches: Message[] } | undefined {
  const footerLen = all.getInt32(bytes.length - 10, true);
  const footerAt = bytes.length - 10 - footerLen;
  if (footerLen <= 0 || footerAt < 8) return undefined;
  const fb = new Fb(new DataView(bytes.buffer, bytes.byteOffset + footerAt, footerLen));
  const footer = fb.root();
  if (fb.vectorLength(fb.ref(footer, 2)) !== 0) return undefined; // dictionaries
  const columns = readSchema(fb, fb.ref(footer, 1) || decline());
  const blocks = fb.ref(footer, 3);
  const batches: Message[] = [];
  for (let i = 0; i < fb.vectorLength(blocks); i++) {
    // Block { offset: long, metaDataLength: int, (pad), bodyLength: long }
    const m = messageAt(bytes, all, fb.i64(blocks + 4 + 24 * i));
    if (m === undefined || m === 'eos' || m.tag !== H_RECORD_BATCH) return undefined;
    batches.push(m);
  }
  return { columns, batches };
}

/** A stream's schema and record batches, in order. */
function streamParts(bytes: Uint8Array, all: DataView): { columns: Column[]; batches: Message[] } | undefined {
  let columns: Column[] | undefined;
  const batches: Message[] = [];
  for (let pos = 0; ;) {
    const m = messageAt(bytes, all, pos);
    if (m === undefined) return undefined;
    if (m === 'eos') return columns === undefined ? undefined : { columns, batches };
    if (m.tag === H_SCHEMA && columns === undefined) columns = readSchema(m.fb, m.header);
    else if (m.tag === H_RECORD_BATCH && columns !== undefined) batches.push(m);
    else return undefined; // dictionary batches, a second schema, tensors
    pos = m.end;
  }
}

function decline(): never {
  throw new Decline();
}

/**
 * Rows of a complete Arrow IPC file or stream whose columns are flat (see the top of this
 * file), or `undefined` when it is not such a file — the caller then decodes it with Arrow.
 */
export function readFlatIpc(bytes: Uint8Array, format: 'file' | 'stream'): Row[] | undefined {
  try {
    const all = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const parts = format === 'file' ? fileParts(bytes, all) : streamParts(bytes, all);
    if (parts === undefined) return undefined;
    const rows: Row[] = [];
    for (const m of parts.batches) readBatch(m.fb, m.header, m.body, parts.columns, rows);
    return rows;
  } catch (err) {
    if (err instanceof Decline || err instanceof RangeError || err instanceof TypeError) return undefined;
    throw err;
  }
}

/** Byte position, from the start of the bytes, of a leaf's values (for utf8: of its text). */
function locateLeaf(batch: Batch, leaf: Leaf, base: number): number {
  batch.nextNode();
  batch.nextBuffer(); // validity
  if (leaf.kind === 'utf8') batch.nextBuffer(); // offsets
  return base + batch.nextBuffer().offset;
}

/**
 * Where each column's values start (for a list, its items' values; for utf8, its text) in a
 * flat Arrow IPC file or stream of one record batch (what `readFlatIpc` reads), or `undefined`
 * for anything else. The fast scan encoder writes new values into a copy of such bytes.
 */
export function flatValuePositions(bytes: Uint8Array, format: 'file' | 'stream'): Map<string, number> | undefined {
  try {
    const all = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const parts = format === 'file' ? fileParts(bytes, all) : streamParts(bytes, all);
    const batchMsg = parts?.batches.length === 1 ? parts.batches[0] : undefined;
    if (parts === undefined || batchMsg === undefined || batchMsg.fb.ref(batchMsg.header, 3) !== 0) return undefined;
    const { columns } = parts;
    const batch = new Batch(batchMsg.fb, batchMsg.header, batchMsg.body);
    const base = batchMsg.body.byteOffset - bytes.byteOffset;
    const out = new Map<string, number>();
    for (const col of columns) {
      if (col.type.kind !== 'list') {
        out.set(col.name, locateLeaf(batch, col.type, base));
        continue;
      }
      batch.nextNode();
      batch.nextBuffer(); // validity
      batch.nextBuffer(); // the list's offsets
      out.set(col.name, locateLeaf(batch, col.type.item, base));
    }
    return batch.done() ? out : undefined;
  } catch (err) {
    if (err instanceof Decline || err instanceof RangeError || err instanceof TypeError) return undefined;
    throw err;
  }
}
