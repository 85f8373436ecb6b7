import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Bool, Dictionary, Field, Float64, Int32, LargeUtf8, List, RecordBatch, Schema, Struct, Table, Utf8,
  makeData, tableFromIPC, tableToIPC, vectorFromArray, type Data, type DataType, type Vector,
} from 'apache-arrow';
import { encodeScans, ScanGenerator, tableRows } from './index.ts';
import { readFlatIpc } from './flat-ipc.ts';
import { footer, messages } from '../test-fixtures/ipc-layout.ts';
import { typesColumns } from '../test-fixtures/fuzz-harness.ts';

const viaArrow = (bytes: Uint8Array) => tableRows(tableFromIPC(bytes));
const listOf = (t: DataType) => new List(new Field('item', t, true));
const FORMATS = ['file', 'stream'] as const;

function ipc(cols: Record<string, Vector>, format: 'file' | 'stream') {
  return tableToIPC(new Table(cols), format);
}

describe('flat Arrow IPC reader', () => {
  for (const format of FORMATS) {
    it(`reads generated scans exactly as Arrow does (${format}, 1 and 7 rows)`, () => {
      const gen = new ScanGenerator({ seed: 11 });
      for (const n of [1, 7]) {
        for (let k = 0; k < 20; k++) {
          const bytes = encodeScans(Array.from({ length: n }, (_, i) => gen.next(1.8e18 + (k * 10 + i) * 5e9)), format);
          const flat = readFlatIpc(bytes, format);
          expect(flat).toBeDefined();
          expect(flat).toEqual(viaArrow(bytes));
        }
      }
    });

    it(`reads every integer width, float32, bool, non-ASCII text and nulls as Arrow does (${format})`, () => {
      const bytes = ipc(typesColumns(), format);
      const flat = readFlatIpc(bytes, format);
      expect(flat).toBeDefined();
      expect(flat).toEqual(viaArrow(bytes));
      expect(flat?.[0]?.i64).toBe(-(2 ** 40));
      expect(flat?.[1]).not.toHaveProperty('i8'); // a null is dropped, as Arrow's path drops it
    });

    it(`declines what it does not read, so Arrow reads it (${format})`, () => {
      const declined: Array<Record<string, Vector>> = [
        { s: vectorFromArray(['a', 'b'], new Dictionary(new Utf8(), new Int32())) },
        { s: vectorFromArray(['a', 'b'], new LargeUtf8()) },
        { l: vectorFromArray([[1, null], [2]], listOf(new Float64())) }, // a null inside a list
        { l: vectorFromArray([[[1]], [[2]]], listOf(listOf(new Float64()))) },
      ];
      for (const cols of declined) expect(readFlatIpc(ipc(cols, format), format)).toBeUndefined();
    });

    it(`declines every cut or damaged copy of a scan rather than read past its end (${format})`, () => {
      const bytes = encodeScans([new ScanGenerator({ seed: 3 }).next(1.8e18)], format);
      for (let n = 0; n < bytes.length; n += 7) expect(() => readFlatIpc(bytes.subarray(0, n), format)).not.toThrow();
      // Flip bytes one at a time: the reader returns rows or undefined, and never throws.
      for (let i = 0; i < bytes.length; i += 3) {
        const copy = bytes.slice();
        copy[i] = (copy[i] as number) ^ 0xa5;
        expect(() => readFlatIpc(copy, format)).not.toThrow();
      }
    });
  }
});

const FIXTURES = path.join(import.meta.dirname, '../test-fixtures');
const damaged = (bytes: Uint8Array, damage: (view: DataView, bytes: Uint8Array) => void) => {
  const copy = bytes.slice();
  damage(new DataView(copy.buffer), copy);
  return copy;
};
const scan = (format: 'file' | 'stream') => encodeScans([new ScanGenerator({ seed: 4, assets: 3 }).next(1.8e18)], format);

// Each of these was found by fuzzing (flat-ipc.fuzz.test.ts): bytes the reader read where Arrow
// throws, hangs or reads other values, or that made it build more than the file holds.
describe('flat Arrow IPC reader on damaged or unusual bytes', () => {
  it('reads the pyarrow-written fixtures exactly as Arrow does (file, stream, two batches, pre-0.15 stream)', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.arrow'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, f)));
      const flat = readFlatIpc(bytes, f.includes('.file.') ? 'file' : 'stream');
      expect(flat, f).toBeDefined();
      expect(flat, f).toEqual(viaArrow(bytes));
    }
  });

  for (const format of FORMATS) {
    it(`drops a leading byte order mark from text, as Arrow's decoder does (${format})`, () => {
      const bytes = ipc({
        s: vectorFromArray(['\ufeffBOM', 'a\ufeff', '\ufeff\ufeff'], new Utf8()),
        l: vectorFromArray([['\ufeffx'], [], ['y']], listOf(new Utf8())),
      }, format);
      const flat = readFlatIpc(bytes, format);
      expect(flat?.[0]?.s).toBe('BOM');
      expect(flat?.[2]?.s).toBe('\ufeff');
      expect(flat).toEqual(viaArrow(bytes));
    });
  }

  it('declines a stream with no record batch before its end, after which Arrow reads on', () => {
    const bytes = ipc({ a: vectorFromArray([5], new Int32()) }, 'stream');
    const batchAt = (messages(bytes).find((m) => m.tag === 3)?.meta.at ?? 0) - 8; // its continuation marker and length
    const eos = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    // Schema, end of stream, then the record batch and another end: Arrow reads the batch.
    const batchAfterEnd = join(bytes.subarray(0, batchAt), eos, bytes.subarray(batchAt));
    expect(viaArrow(batchAfterEnd)).toEqual([{ a: 5 }]);
    expect(readFlatIpc(batchAfterEnd, 'stream')).toBeUndefined();
    expect(readFlatIpc(join(bytes.subarray(0, batchAt), eos), 'stream')).toBeUndefined();
    expect(readFlatIpc(bytes, 'stream')).toEqual([{ a: 5 }]);
  });

  it('declines bytes whose magic names another format than the caller does (Arrow goes by the magic)', () => {
    expect(readFlatIpc(scan('file'), 'file')).toBeDefined();
    expect(readFlatIpc(damaged(scan('file'), (v) => v.setBigInt64(0, 0n)), 'file')).toBeUndefined();
    expect(readFlatIpc(scan('file'), 'stream')).toBeUndefined();
    expect(readFlatIpc(scan('stream'), 'file')).toBeUndefined();
  });

  it('declines a leaf column with children: Arrow decodes them all (here 2^31 of them, for minutes)', () => {
    const bytes = scan('stream');
    const [schema] = messages(bytes);
    if (schema === undefined) throw new Error('no schema message');
    const field = schema.meta.tableIn(schema.header, 1, 0);
    expect(readFlatIpc(bytes, 'stream')).toBeDefined();
    const children = schema.meta.ref(field, 5);
    expect(readFlatIpc(damaged(bytes, (v) => v.setInt32(schema.meta.abs(children), 0x7fffffff, true)), 'stream')).toBeUndefined();
    expect(readFlatIpc(damaged(bytes, (v) => v.setInt32(schema.meta.abs(children), 1, true)), 'stream')).toBeUndefined();
  });

  it('declines custom metadata Arrow would spend minutes decoding', () => {
    const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, 'pyarrow-scan-1x50.file.arrow')));
    const foot = footer(bytes);
    const schema = foot.ref(foot.root(), 1);
    const keyValues = foot.ref(schema, 2);
    expect(readFlatIpc(bytes, 'file')).toBeDefined();
    expect(readFlatIpc(damaged(bytes, (v) => v.setInt32(foot.abs(keyValues), 0x7ffffff0, true)), 'file')).toBeUndefined();
  });

  it('declines record batches with metadata before V4, whose buffers Arrow reads 8 bytes further on', () => {
    const bytes = scan('file');
    const [batch] = messages(bytes);
    if (batch === undefined) throw new Error('no record batch');
    const msg = batch.meta.root();
    const v3 = damaged(bytes, (v) => v.setInt16(batch.meta.abs(batch.meta.field(msg, 0)), 2, true));
    expect(readFlatIpc(v3, 'file')).toBeUndefined();
    let arrow: unknown;
    try {
      arrow = viaArrow(v3);
    } catch (err) {
      arrow = err;
    }
    expect(arrow).not.toEqual(viaArrow(bytes));
  });

  it('declines a buffer not aligned for its values, which Arrow cannot view', () => {
    const bytes = ipc({ i: vectorFromArray([7, 8], new Int32()), f: vectorFromArray([1.5, 2.5], new Float64()) }, 'stream');
    const batch = messages(bytes).find((m) => m.tag === 3);
    if (batch === undefined) throw new Error('no record batch');
    expect(readFlatIpc(bytes, 'stream')).toEqual([{ i: 7, f: 1.5 }, { i: 8, f: 2.5 }]);
    // Buffers: i's validity, i's values, f's validity, f's values; move f's values 4 bytes back.
    const f = batch.meta.abs(batch.meta.ref(batch.header, 2) + 4 + 16 * 3);
    const moved = damaged(bytes, (v) => v.setBigInt64(f, v.getBigInt64(f, true) - 4n, true));
    expect(() => viaArrow(moved)).toThrow(/multiple of 8/);
    expect(readFlatIpc(moved, 'stream')).toBeUndefined();
  });

  it('declines a column without a name or a type (Arrow calls it "null", or throws)', () => {
    const bytes = scan('stream');
    const [schema] = messages(bytes);
    if (schema === undefined) throw new Error('no schema message');
    const field = schema.meta.tableIn(schema.header, 1, 0); // scan_number: int64
    const noName = damaged(bytes, (v) => v.setInt16(schema.meta.slot(field, 0), 0, true));
    expect(Object.keys(viaArrow(noName)[0] ?? {})).toContain('null');
    expect(readFlatIpc(noName, 'stream')).toBeUndefined();
    const noType = damaged(bytes, (v) => v.setInt16(schema.meta.slot(field, 3), 0, true));
    expect(() => viaArrow(noType)).toThrow();
    expect(readFlatIpc(noType, 'stream')).toBeUndefined();
  });

  for (const format of FORMATS) {
    it(`declines repeated column names, of which Arrow's rows read the first (${format})`, () => {
      const fields = [new Field('x', new Int32(), true), new Field('x', new Int32(), true)];
      const children = [vectorFromArray([1], new Int32()).data[0], vectorFromArray([2], new Int32()).data[0]] as Data[];
      const batch = new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: 1, children }));
      const bytes = tableToIPC(new Table([batch]), format);
      expect(viaArrow(bytes)).toEqual([{ x: 1 }]);
      expect(readFlatIpc(bytes, format)).toBeUndefined();
    });

    it(`declines a column named __proto__, which would set a row's prototype (${format})`, () => {
      const bytes = ipc({ ['__proto__']: vectorFromArray([[1.5]], listOf(new Float64())) }, format);
      expect(readFlatIpc(bytes, format)).toBeUndefined();
    });

    it(`builds no more rows, cells and list items than the file has bytes (${format})`, () => {
      // 4,096 booleans take 512 bytes: 4,096 rows from a file of well under 4,096 bytes.
      const bytes = ipc({ b: vectorFromArray(Array.from({ length: 4096 }, (_, i) => i % 2 === 0), new Bool()) }, format);
      expect(bytes.length).toBeLessThan(4096);
      expect(viaArrow(bytes)).toHaveLength(4096);
      expect(readFlatIpc(bytes, format)).toBeUndefined();
      const fewer = ipc({ b: vectorFromArray(Array.from({ length: 64 }, (_, i) => i % 2 === 0), new Bool()) }, format);
      expect(readFlatIpc(fewer, format)).toHaveLength(64);
    });
  }

  it('declines a footer block whose body length is beyond 2^53 (Arrow throws on it)', () => {
    const bytes = scan('file');
    const foot = footer(bytes);
    const block = foot.ref(foot.root(), 3) + 4; // Block { offset, metaDataLength, pad, bodyLength }
    const huge = damaged(bytes, (v) => v.setBigInt64(foot.abs(block + 16), 2n ** 60n, true));
    expect(() => viaArrow(huge)).toThrow(/safe/);
    expect(readFlatIpc(huge, 'file')).toBeUndefined();
  });

  it('declines a file whose footer block points at the schema message (Arrow loops on it for ever)', () => {
    const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, 'pyarrow-scan-1x50.file.arrow')));
    const foot = footer(bytes);
    const block = foot.ref(foot.root(), 3) + 4;
    expect(readFlatIpc(damaged(bytes, (v) => v.setBigInt64(foot.abs(block), 8n, true)), 'file')).toBeUndefined();
  });
});
