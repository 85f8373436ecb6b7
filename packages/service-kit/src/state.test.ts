import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateRegistry, writeSnapshot, takeSnapshot, snapshotPath } from './state.ts';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'dolphin-state-'));

describe('restart state', () => {
  it('captures and restores registered state through an atomic snapshot file', () => {
    const file = snapshotPath(dir(), 'event-trader');
    let windows = [1, 2, 3];
    const reg = new StateRegistry();
    reg.register('windows', { capture: () => windows, restore: (v: number[]) => { windows = v; } });
    writeSnapshot(file, 'event-trader', reg.captureAll());
    windows = [];
    const states = takeSnapshot(file, { service: 'event-trader' });
    expect(reg.restoreAll(states)).toEqual(['windows']);
    expect(windows).toEqual([1, 2, 3]);
    expect(existsSync(file)).toBe(false); // taken once
  });

  it('rejects a bad checksum, another service, a wrong marker and an old file', () => {
    const d = dir();
    const file = snapshotPath(d, 'svc');
    const write = (mutate: (o: Record<string, unknown>) => void) => {
      writeSnapshot(file, 'svc', { a: 1 });
      const o = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      mutate(o);
      writeFileSync(file, JSON.stringify(o));
    };
    write((o) => { o.states = { a: 2 }; });
    expect(() => takeSnapshot(file, { service: 'svc' })).toThrow(/checksum does not match/);
    write(() => undefined);
    expect(() => takeSnapshot(file, { service: 'other' })).toThrow(/written by service "svc"/);
    write((o) => { o.marker = 'x'; });
    expect(() => takeSnapshot(file, { service: 'svc' })).toThrow(/marker/);
    write(() => undefined);
    expect(() => takeSnapshot(file, { service: 'svc', nowMs: Date.now() + 31_000 })).toThrow(/older than 30 s/);
    writeFileSync(file, 'garbage');
    expect(() => takeSnapshot(file, { service: 'svc' })).toThrow(/unreadable or not JSON/);
  });
});
