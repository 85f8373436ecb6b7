// Where things are in Arrow IPC bytes, so a test can damage exactly one field: the messages of
// a stream or file (their flatbuffer metadata) and a file's footer. Read with flatbuffers'
// plain rules (https://flatbuffers.dev/internals/), trusting the bytes: these are the test's
// own valid files.

/** One flatbuffer inside the bytes (a message's metadata or a footer); positions relative to it. */
export class Flatbuffer {
  readonly view: DataView;
  readonly at: number;
  constructor(bytes: Uint8Array, at: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = at;
  }
  i32(p: number): number {
    return this.view.getInt32(this.at + p, true);
  }
  root(): number {
    return this.i32(0);
  }
  /** Absolute position of the vtable slot of field `i` of table `t` (write 0 there and the field is absent). */
  slot(t: number, i: number): number {
    return this.at + t - this.i32(t) + 4 + 2 * i;
  }
  has(t: number, i: number): boolean {
    return 4 + 2 * i < this.view.getInt16(this.at + t - this.i32(t), true) && this.view.getInt16(this.slot(t, i), true) !== 0;
  }
  /** Position of field `i` of table `t` (its inline value, or the offset to what it points at). */
  field(t: number, i: number): number {
    const off = this.view.getInt16(this.slot(t, i), true);
    if (off === 0) throw new Error(`field ${i} of the table at ${t} is absent`);
    return t + off;
  }
  /** Position of the table, vector or string that field `i` of table `t` points at. */
  ref(t: number, i: number): number {
    const p = this.field(t, i);
    return p + this.i32(p);
  }
  /** The k-th table of the vector at field `i` of table `t`. */
  tableIn(t: number, i: number, k: number): number {
    const p = this.ref(t, i) + 4 + 4 * k;
    return p + this.i32(p);
  }
  /** Absolute position of relative position `p`. */
  abs(p: number): number {
    return this.at + p;
  }
}

export interface MessageAt {
  /** Header type: 1 schema, 3 record batch. */
  tag: number;
  meta: Flatbuffer;
  /** The header table (schema or record batch). */
  header: number;
  bodyAt: number;
}

/** The messages of a stream (from 0) or of a file's stream part (from 8), up to the end-of-stream marker. */
export function messages(bytes: Uint8Array): MessageAt[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: MessageAt[] = [];
  let pos = bytes[0] === 0x41 ? 8 : 0; // "ARROW1" and padding
  for (;;) {
    let len = view.getInt32(pos, true);
    pos += 4;
    if (len === -1) {
      len = view.getInt32(pos, true);
      pos += 4;
    }
    if (len === 0) return out;
    const meta = new Flatbuffer(bytes, pos);
    const msg = meta.root();
    const tag = meta.view.getUint8(meta.abs(meta.field(msg, 1)));
    const bodyLength = meta.has(msg, 3) ? Number(meta.view.getBigInt64(meta.abs(meta.field(msg, 3)), true)) : 0;
    out.push({ tag, meta, header: meta.ref(msg, 2), bodyAt: pos + len });
    pos += len + bodyLength;
  }
}

/** A file's footer. */
export function footer(bytes: Uint8Array): Flatbuffer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getInt32(bytes.length - 10, true);
  return new Flatbuffer(bytes, bytes.length - 10 - len);
}
