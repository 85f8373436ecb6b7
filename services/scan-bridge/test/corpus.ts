import { Field, Float64, List, Table, Utf8, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { sampleScan, type ScanRecord } from '@dolphin/core';
import { encodeScans, scansToTable } from '@dolphin/scanfile';

function withColumns(row: ScanRecord, overrides: Record<string, Vector>): Uint8Array {
  const base = scansToTable([row]);
  const cols: Record<string, Vector> = {};
  for (const f of base.schema.fields) cols[f.name] = base.getChild(f.name) as Vector;
  return tableToIPC(new Table({ ...cols, ...overrides }), 'file');
}

const prices = (p: number[]) => vectorFromArray([p], new List(new Field('item', new Float64(), true)));

/** Files the bridge must quarantine, with the error code each must get. */
export function badFiles(row: ScanRecord = sampleScan): Array<{ name: string; bytes: Uint8Array; code: string; reason: RegExp }> {
  const good = encodeScans([row]);
  return [
    { name: 'nan_price', bytes: withColumns(row, { asset_prices: prices([1, Number.NaN, 3]) }), code: 'DOLPHIN_SCANFILE_BAD_SCHEMA', reason: /asset_prices\.1/ },
    { name: 'zero_price', bytes: withColumns(row, { asset_prices: prices([1, 0, 3]) }), code: 'DOLPHIN_SCANFILE_BAD_SCHEMA', reason: /asset_prices\.1/ },
    { name: 'length_mismatch', bytes: withColumns(row, { asset_prices: prices([1, 2]) }), code: 'DOLPHIN_SCANFILE_BAD_SCHEMA', reason: /has 2 prices for 3 assets/ },
    { name: 'wrong_type', bytes: withColumns(row, { scan_number: vectorFromArray(['4242'], new Utf8()) }), code: 'DOLPHIN_SCANFILE_BAD_SCHEMA', reason: /scan_number/ },
    { name: 'empty', bytes: new Uint8Array(0), code: 'DOLPHIN_SCANFILE_EMPTY', reason: /empty file/ },
    { name: 'truncated', bytes: good.subarray(0, Math.floor(good.length / 2)), code: 'DOLPHIN_SCANFILE_TRUNCATED', reason: /no Arrow footer/ },
    { name: 'not_arrow', bytes: new TextEncoder().encode('scan_number,price\n1,97000\n'), code: 'DOLPHIN_SCANFILE_NOT_ARROW', reason: /not an Arrow IPC/ },
  ];
}
