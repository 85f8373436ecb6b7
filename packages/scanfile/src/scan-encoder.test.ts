import { describe, expect, it } from 'vitest';
import type { ScanRecord } from '@dolphin/core';
import { decodeScanFile, encodeScans, ScanEncoder, ScanGenerator } from './index.ts';

const FORMATS = ['file', 'stream'] as const;

describe('fast scan encoder', () => {
  for (const format of FORMATS) {
    it(`writes the very bytes Arrow writes, scan after scan (${format})`, () => {
      const gen = new ScanGenerator({ seed: 21 });
      const enc = new ScanEncoder(format);
      for (let i = 0; i < 300; i++) {
        const scan = gen.next(1.8e18 + i * 5e9 + 123_456);
        expect(Buffer.from(enc.encode(scan)).equals(Buffer.from(encodeScans([scan], format)))).toBe(true);
      }
      expect(enc.shapes).toBe(1); // one Arrow encode, then the template
    });
  }

  it('follows a change of shape: other assets, other lengths, no eigenvalues, a longer version string', () => {
    const enc = new ScanEncoder();
    const base = new ScanGenerator({ seed: 22 }).next(1.8e18);
    const variants: ScanRecord[] = [
      base,
      new ScanGenerator({ seed: 22, assets: 7 }).next(1.8e18 + 1e9),
      { ...base, scan_number: 2, assets: base.assets.map((a) => `${a}X`) },
      { ...base, scan_number: 3, eigenvalues: undefined },
      { ...base, scan_number: 4, schema_version: '5.0.10' },
      { ...base, scan_number: 5, timestamp_iso: '2026-12-02T06:00:00Z' },
      { ...base, scan_number: 2 ** 40, w50_velocity: -0, w150_velocity: 1e-300 },
      base,
    ];
    let shapes = 0;
    for (const scan of variants) {
      const bytes = enc.encode(scan);
      expect(Buffer.from(bytes).equals(Buffer.from(encodeScans([scan])))).toBe(true);
      const r = decodeScanFile(bytes);
      expect(r.kind).toBe('ok');
      shapes = Math.max(shapes, enc.shapes);
    }
    expect(shapes).toBe(6); // the last three share shapes seen before
  });

  it('hands scans with extra columns to Arrow', () => {
    const scan = { ...new ScanGenerator({ seed: 23 }).next(1.8e18), replay_of_ns: 1.7e18 } as ScanRecord;
    const enc = new ScanEncoder();
    for (let i = 0; i < 2; i++) {
      const bytes = enc.encode(scan);
      expect(Buffer.from(bytes).equals(Buffer.from(encodeScans([scan])))).toBe(true);
    }
  });

  it('never shares bytes between scans', () => {
    const gen = new ScanGenerator({ seed: 24 });
    const enc = new ScanEncoder();
    const [a, b] = [gen.next(1.8e18), gen.next(1.8e18 + 5e9)];
    const first = enc.encode(a!);
    const kept = Buffer.from(first);
    enc.encode(b!);
    enc.encode(b!);
    expect(Buffer.from(first).equals(kept)).toBe(true);
  });
});
