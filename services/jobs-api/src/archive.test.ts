import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScanRecord } from '@dolphin/core';
import { encodeScans, ScanGenerator, scanFilePath } from '@dolphin/scanfile';
import { loadDayScans, Timeline } from './archive.ts';

const DATE = '2026-09-01';
const T0 = Date.parse(`${DATE}T00:00:00Z`) * 1e6;

function archive(): { dir: string; rows: ScanRecord[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-archive-'));
  const gen = new ScanGenerator({ seed: 4, assets: 6 });
  const rows: ScanRecord[] = [];
  mkdirSync(path.join(dir, DATE), { recursive: true });
  for (let i = 0; i < 40; i++) {
    let s = gen.next(T0 + (40 - i) * 1e9); // written newest first: the day comes back in time order
    if (i === 3) s = { ...s, eigenvalues: undefined } as ScanRecord;
    if (i === 5) s = { ...s, replay_of_ns: 1.7e18 } as ScanRecord;
    if (i === 7) s = { ...s, assets: s.assets.slice(0, 3), asset_prices: s.asset_prices.slice(0, 3) };
    rows.push(s);
    writeFileSync(scanFilePath(dir, s.scan_number, s.timestamp_ns), encodeScans([s]));
  }
  writeFileSync(path.join(dir, DATE, 'scan_999_000000.arrow'), 'not arrow');
  return { dir, rows };
}

describe('day archive and its cache', () => {
  it('reads a day back from the cache exactly as decoded from the files, in time order', async () => {
    const { dir } = archive();
    const cache = path.join(dir, '_cache');
    const decoded = await loadDayScans(dir, DATE, cache);
    expect(decoded.cached).toBe(false);
    expect(decoded.scans).toHaveLength(40);
    expect(decoded.unreadable).toEqual([expect.objectContaining({ file: 'scan_999_000000.arrow' })]);
    expect(decoded.scans.map((s) => s.timestamp_ns)).toEqual([...decoded.scans.map((s) => s.timestamp_ns)].sort((a, b) => a - b));
    const again = await loadDayScans(dir, DATE, cache);
    expect(again.cached).toBe(true);
    expect(again.scans).toEqual(decoded.scans);
    expect(again.unreadable).toEqual(decoded.unreadable);
    expect(again.scans.find((s) => 'replay_of_ns' in s)).toMatchObject({ replay_of_ns: 1.7e18 });
  });

  it('a file added to the day makes a new cache', async () => {
    const { dir } = archive();
    const cache = path.join(dir, '_cache');
    await loadDayScans(dir, DATE, cache);
    const s = new ScanGenerator({ seed: 9, assets: 6, firstScanNumber: 500 }).next(T0 + 100e9);
    writeFileSync(scanFilePath(dir, s.scan_number, s.timestamp_ns), encodeScans([s]));
    const after = await loadDayScans(dir, DATE, cache);
    expect(after.cached).toBe(false);
    expect(after.scans).toHaveLength(41);
  });

  it('a timeline answers the last change at or before a time', () => {
    const t = new Timeline([{ ts: 30, value: 'c' }, { ts: 10, value: 'a' }, { ts: 20, value: 'b' }]);
    expect([5, 10, 15, 20, 29, 30, 99].map((x) => t.at(x))).toEqual([undefined, 'a', 'a', 'b', 'b', 'c', 'c']);
    expect(t.countBetween(10, 30)).toBe(2);
  });
});
