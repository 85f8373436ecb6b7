import { describe, expect, it } from 'vitest';
import {
  Bool, Dictionary, Field, Float32, Float64, Int8, Int16, Int32, Int64, LargeUtf8, List, Table, Uint16, Uint32, Uint64, Utf8,
  tableFromIPC, tableToIPC, vectorFromArray, type DataType, type Vector,
} from 'apache-arrow';
import { encodeScans, ScanGenerator, tableRows } from './index.ts';
import { readFlatIpc } from './flat-ipc.ts';

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
      const bytes = ipc({
        i8: vectorFromArray([-5, null, 7], new Int8()),
        i16: vectorFromArray([-300, 2, null], new Int16()),
        i32: vectorFromArray([-70_000, 1, 2], new Int32()),
        i64: vectorFromArray([-(2n ** 40n), 1_800_000_000_123_456_789n, null], new Int64()),
        u16: vectorFromArray([65_535, 0, 1], new Uint16()),
        u32: vectorFromArray([4_000_000_000, 0, 1], new Uint32()),
        u64: vectorFromArray([2n ** 63n + 5n, 0n, 1n], new Uint64()),
        f32: vectorFromArray([0.1, -2.5, null], new Float32()),
        b: vectorFromArray([true, false, null], new Bool()),
        s: vectorFromArray(['Ünïcødé €', '', null], new Utf8()),
        ls: vectorFromArray([['BTCUSDT', 'ÉTH'], [], null], listOf(new Utf8())),
        li: vectorFromArray([[1, 2, 3], [4], []], listOf(new Int32())),
        lf: vectorFromArray([[0.5, 1.5], null, [2]], listOf(new Float64())),
      }, format);
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
