import { describe, expect, it } from 'vitest';
import { Dictionary, Field, Float32, Float64, Int32, LargeUtf8, List, Table, Utf8, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { sampleScan, SCAN_WINDOW_FIELDS, velDiv, type ScanRecord } from '@dolphin/core';
import { decodeScanFile, encodeScans, scansToTable, ScanGenerator, scanFileName, dateDirName, SCAN_FILE_RE } from './index.ts';

const ok = (bytes: Uint8Array) => {
  const r = decodeScanFile(bytes);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${r.kind}: ${'reason' in r ? r.reason : ''}`);
  return r;
};

function tableWith(overrides: Record<string, Vector>): Uint8Array {
  const base = scansToTable([sampleScan]);
  const cols: Record<string, Vector> = {};
  for (const f of base.schema.fields) cols[f.name] = base.getChild(f.name) as Vector;
  return tableToIPC(new Table({ ...cols, ...overrides }), 'file');
}

describe('scan files', () => {
  for (const format of ['file', 'stream'] as const) {
    it(`round-trips every field in ${format} format`, () => {
      const r = ok(encodeScans([sampleScan], format));
      expect(r.format).toBe(format);
      expect(r.rows).toEqual([sampleScan]);
    });

    it(`never decodes a partial ${format}: every prefix is incomplete`, () => {
      const bytes = encodeScans([sampleScan], format);
      for (let n = 0; n < bytes.length; n++) {
        const r = decodeScanFile(bytes.subarray(0, n));
        expect(r.kind, `prefix of ${n}/${bytes.length} bytes`).toBe('incomplete');
      }
    });
  }

  it('reads several rows and carries unknown columns through', () => {
    const rows = [sampleScan, { ...sampleScan, scan_number: 4243, timestamp_ns: sampleScan.timestamp_ns + 5e9, ng_source: 'ng6' } as ScanRecord];
    const r = ok(encodeScans(rows));
    expect(r.rows.map((x) => x.scan_number)).toEqual([4242, 4243]);
    expect(r.rows[1]?.ng_source).toBe('ng6');
  });

  it('reads types that mean the same thing: float32, large_utf8, dictionary strings, int32 numbers', () => {
    const bytes = tableWith({
      w50_velocity: vectorFromArray([0.25], new Float32()),
      timestamp_iso: vectorFromArray([sampleScan.timestamp_iso], new LargeUtf8()),
      schema_version: vectorFromArray(['5.0.0'], new Dictionary(new Utf8(), new Int32())),
      scan_number: vectorFromArray([4242], new Int32()),
    });
    const row = ok(bytes).rows[0]!;
    expect(row.w50_velocity).toBe(0.25);
    expect(row.timestamp_iso).toBe(sampleScan.timestamp_iso);
    expect(row.schema_version).toBe('5.0.0');
    expect(row.scan_number).toBe(4242);
  });

  it('names the row and column of bad values: NaN, non-positive price, length mismatch, wrong type, null', () => {
    const prices = (p: number[]) => vectorFromArray([p], new List(new Field('item', new Float64(), true)));
    const cases: Array<[Record<string, Vector>, RegExp]> = [
      [{ asset_prices: prices([1, Number.NaN, 3]) }, /row 0: asset_prices\.1: /],
      [{ asset_prices: prices([1, -2, 3]) }, /row 0: asset_prices\.1: /],
      [{ asset_prices: prices([1, 2]) }, /row 0: asset_prices: has 2 prices for 3 assets/],
      [{ scan_number: vectorFromArray(['4242'], new Utf8()) }, /row 0: scan_number: .*expected number/],
      [{ w150_velocity: vectorFromArray([null], new Float64()) }, /row 0: w150_velocity: /],
    ];
    for (const [override, message] of cases) {
      const r = decodeScanFile(tableWith(override));
      expect(r.kind).toBe('invalid');
      if (r.kind === 'invalid') {
        expect(r.code).toBe('DOLPHIN_SCANFILE_BAD_SCHEMA');
        expect(r.reason).toMatch(message);
      }
    }
  });

  it('tells apart not-Arrow, no rows and corrupt', () => {
    expect(decodeScanFile(new TextEncoder().encode('timestamp,price\n1,2\n'))).toMatchObject({ kind: 'invalid', code: 'DOLPHIN_SCANFILE_NOT_ARROW' });
    expect(decodeScanFile(encodeScans([]))).toMatchObject({ kind: 'invalid', code: 'DOLPHIN_SCANFILE_NO_ROWS' });
    const bytes = encodeScans([sampleScan]);
    const mangled = new Uint8Array(bytes);
    mangled.fill(0x7f, 16, bytes.length - 16);
    expect(decodeScanFile(mangled)).toMatchObject({ kind: 'invalid', code: 'DOLPHIN_SCANFILE_CORRUPT' });
  });

  it('names files as <date>/scan_<n>_<HHMMSS>.arrow in UTC', () => {
    const ns = Date.UTC(2026, 10, 24, 9, 5, 7) * 1e6;
    expect(dateDirName(ns)).toBe('2026-11-24');
    expect(scanFileName(17, ns)).toBe('scan_17_090507.arrow');
    expect(SCAN_FILE_RE.exec('scan_17_090507.arrow')?.[1]).toBe('17');
  });
});

describe('scan generator', () => {
  it('is deterministic for a seed and produces valid scans', () => {
    const t = Date.UTC(2026, 10, 24) * 1e6;
    const a = new ScanGenerator({ seed: 7 });
    const b = new ScanGenerator({ seed: 7 });
    for (let i = 0; i < 20; i++) {
      const sa = a.next(t + i * 5e9);
      expect(sa).toEqual(b.next(t + i * 5e9));
      expect(ok(encodeScans([sa])).rows[0]).toEqual(sa);
      expect(sa.assets).toHaveLength(50);
      for (const f of SCAN_WINDOW_FIELDS) expect(Number.isFinite(sa[f])).toBe(true);
    }
  });

  it('passes through instability regimes several times an hour at one scan per 5 s', () => {
    const g = new ScanGenerator({ seed: 1 });
    const hours = 24;
    let episodes = 0;
    let inside = false;
    for (let i = 0; i < 720 * hours; i++) {
      const hit = velDiv(g.next(i * 5e9)) <= -0.02;
      if (hit && !inside) episodes++;
      inside = hit;
    }
    const perHour = episodes / hours;
    expect(perHour).toBeGreaterThanOrEqual(2);
    expect(perHour).toBeLessThanOrEqual(30);
  });
});
