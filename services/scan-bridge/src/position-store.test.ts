import { mkdtempSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@dolphin/core';
import { PositionStore } from './position-store.ts';
import type { Position } from './scan-order.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const at = (n: number): Position => ({ timestamp_ns: 1.8e18 + n * 1e9, scan_number: n, file: `2026-12-03/scan_${n}_000000.arrow`, file_mtime_ns: 1.8e18 + n * 1e9, published_at: '2026-12-03T00:00:00.000000Z' });
const dir = () => mkdtempSync(path.join(os.tmpdir(), 'dolphin-position-'));

describe('PositionStore (the bridge position in two slots)', () => {
  it('gives back the last position saved, and the scan about to be put when the process stopped between the two writes', () => {
    const d = dir();
    const a = new PositionStore(d);
    expect(a.load(logger)).toEqual({ position: undefined, pending: undefined });
    a.save(at(1));
    a.savePending(at(2));
    a.save(at(2));
    a.savePending(at(3)); // killed here: scan 3 may or may not have landed
    a.close();
    expect(new PositionStore(d).load(logger)).toEqual({ position: at(2), pending: at(3) });
  });

  it('a slot cut short (a write torn by a power loss) leaves the other, one step older', () => {
    const d = dir();
    const s = new PositionStore(d);
    s.save(at(7));
    s.save(at(8)); // in the other slot
    s.close();
    const fd = openSync(path.join(d, 'scan-bridge.position'), 'r+');
    writeSync(fd, Buffer.from('{"seq":2,"p":{"timestamp_ns":9'), 0, 30, 0); // slot 0 holds seq 2: its start rewritten, the rest old
    closeSync(fd);
    expect(new PositionStore(d).load(logger).position).toEqual(at(7));
  });

  it('reads the JSON file of earlier versions once, and a very long file name still fits', () => {
    const d = dir();
    writeFileSync(path.join(d, 'scan-bridge.position.json'), JSON.stringify(at(5)));
    const s = new PositionStore(d);
    expect(s.load(logger).position).toEqual(at(5));
    s.save({ ...at(6), file: `2026-12-03/${'x'.repeat(3_000)}.arrow` });
    s.close();
    const back = new PositionStore(d).load(logger).position;
    expect(back?.timestamp_ns).toBe(at(6).timestamp_ns);
    expect(readFileSync(path.join(d, 'scan-bridge.position')).length).toBe(2_048);
  });
});
