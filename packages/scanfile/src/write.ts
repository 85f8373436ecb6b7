import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Field, Float64, Int64, List, Table, Utf8, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { SCAN_WINDOW_FIELDS, type ScanRecord } from '@dolphin/core';
import { tempPathFor } from './layout.ts';
import type { IpcFormat } from './read.ts';

const KNOWN = new Set(['scan_number', 'timestamp_ns', 'timestamp_iso', 'schema_version', 'assets', 'asset_prices', 'eigenvalues', ...SCAN_WINDOW_FIELDS]);
const listOf = (t: Utf8 | Float64) => new List(new Field('item', t, true));

/** An Arrow table with the scan file schema of DESIGN.md §4 (extra fields become inferred columns). */
export function scansToTable(rows: readonly ScanRecord[]): Table {
  const cols: Record<string, Vector> = {
    scan_number: vectorFromArray(rows.map((r) => BigInt(r.scan_number)), new Int64()),
    timestamp_ns: vectorFromArray(rows.map((r) => BigInt(Math.round(r.timestamp_ns))), new Int64()),
    timestamp_iso: vectorFromArray(rows.map((r) => r.timestamp_iso), new Utf8()),
    schema_version: vectorFromArray(rows.map((r) => r.schema_version), new Utf8()),
  };
  for (const f of SCAN_WINDOW_FIELDS) cols[f] = vectorFromArray(rows.map((r) => r[f]), new Float64());
  cols.assets = vectorFromArray(rows.map((r) => r.assets), listOf(new Utf8()));
  cols.asset_prices = vectorFromArray(rows.map((r) => r.asset_prices), listOf(new Float64()));
  if (rows.some((r) => r.eigenvalues !== undefined)) {
    cols.eigenvalues = vectorFromArray(rows.map((r) => r.eigenvalues ?? null), listOf(new Float64()));
  }
  const extras = new Set(rows.flatMap((r) => Object.keys(r).filter((k) => !KNOWN.has(k))));
  for (const k of extras) cols[k] = vectorFromArray(rows.map((r) => (r as Record<string, unknown>)[k] ?? null) as unknown[]);
  return new Table(cols);
}

export function encodeScans(rows: readonly ScanRecord[], format: IpcFormat = 'file'): Uint8Array {
  return tableToIPC(scansToTable(rows), format);
}

export type WriteMode = 'rename' | 'in-place';

/**
 * Writes a scan file. `rename`: to a hidden temp name in the same folder, then renamed into
 * place (atomic). `in-place`: straight to its name, as some producers do.
 */
export function writeScanFile(file: string, bytes: Uint8Array, mode: WriteMode = 'rename'): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const target = mode === 'rename' ? tempPathFor(file) : file;
  const fd = openSync(target, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    closeSync(fd);
  }
  if (mode === 'rename') renameSync(target, file);
}
