import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RotatingLog } from './rotating-log.ts';

describe('rotating log', () => {
  it('rotates at the size, keeps `keep` old files, loses no line', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-log-')), 'svc.log');
    const log = new RotatingLog(file, 100, 2);
    const lines = Array.from({ length: 30 }, (_, i) => `line ${String(i).padStart(2, '0')} ........\n`); // 20 bytes each
    for (const l of lines) log.write(l);
    log.close();
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(existsSync(`${file}.2`)).toBe(true);
    expect(existsSync(`${file}.3`)).toBe(false);
    const kept = [`${file}.2`, `${file}.1`, file].map((f) => readFileSync(f, 'utf8')).join('');
    for (const f of [file, `${file}.1`, `${file}.2`]) expect(readFileSync(f).length).toBeLessThanOrEqual(100);
    expect(kept).toBe(lines.slice(-15).join('')); // the newest 15 lines, in order, none cut
  });

  it('appends to what a previous run left', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-log-')), 'svc.log');
    new RotatingLog(file, 1_000, 1).write('first\n');
    const again = new RotatingLog(file, 1_000, 1);
    again.write('second\n');
    again.close();
    expect(readFileSync(file, 'utf8')).toBe('first\nsecond\n');
  });
});
