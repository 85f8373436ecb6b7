import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@dolphin/hz';
import { decodeScanFile, SCAN_FILE_RE } from '@dolphin/scanfile';
import { spawnCollecting, type SpawnedProcess } from '@dolphin/test-support';

const spawned: SpawnedProcess[] = [];
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
});

function dolphin(args: string[]): SpawnedProcess {
  const p = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'cli/src/main.ts'), ...args], { PATH: process.env.PATH, HOME: process.env.HOME });
  spawned.push(p);
  return p;
}

function scanFiles(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir)) for (const f of readdirSync(path.join(dir, d))) out.push(path.join(dir, d, f));
  return out.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

describe('dolphin produce and replay', () => {
  it('produce writes valid scan files named by the layout, in either mode and format', async () => {
    for (const [mode, format] of [['rename', 'file'], ['in-place', 'stream']] as const) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-produce-'));
      const p = dolphin(['produce', '--dir', dir, '--rate', '200', '--count', '12', '--mode', mode, '--format', format, '--assets', '10']);
      expect((await p.exited).code).toBe(0);
      const files = scanFiles(dir);
      expect(files).toHaveLength(12);
      const numbers = files.map((f) => {
        expect(path.basename(f)).toMatch(SCAN_FILE_RE);
        const r = decodeScanFile(readFileSync(f));
        expect(r.kind).toBe('ok');
        return r.kind === 'ok' ? (expect(r.format).toBe(format), expect(r.rows[0]!.assets).toHaveLength(10), r.rows[0]!.scan_number) : -1;
      });
      expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(p.text.some((l) => /wrote 12 scans/.test(l))).toBe(true);
    }
  });

  it('replay re-stamps archived scans with the current time, in their recorded order', async () => {
    const archive = mkdtempSync(path.join(os.tmpdir(), 'dolphin-archive-'));
    await dolphin(['produce', '--dir', archive, '--rate', '500', '--count', '8']).exited;
    const target = mkdtempSync(path.join(os.tmpdir(), 'dolphin-replayed-'));
    const before = Date.now() * 1e6;
    const p = dolphin(['replay', archive, '--dir', target, '--speed', 'max']);
    expect((await p.exited).code).toBe(0);
    expect(p.text.some((l) => /replayed 8 scans/.test(l))).toBe(true);
    const rows = scanFiles(target).map((f) => {
      const r = decodeScanFile(readFileSync(f));
      if (r.kind !== 'ok') throw new Error(`${f}: ${r.kind}`);
      return r.rows[0]!;
    });
    expect(rows.map((r) => r.scan_number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const r of rows) {
      expect(r.timestamp_ns).toBeGreaterThan(before);
      expect(typeof r.replay_of_ns).toBe('number');
      expect(r.replay_of_file).toMatch(/scan_\d+_\d{6}\.arrow$/);
    }
    const ts = rows.map((r) => r.timestamp_ns);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
  });

  it('refuses a bad rate or speed with a message that names the option', async () => {
    const bad = dolphin(['produce', '--rate', '5000', '--count', '1', '--dir', os.tmpdir()]);
    expect((await bad.exited).code).toBe(2);
    expect(bad.text.join('\n')).toMatch(/--rate must be > 0 and ≤ 1000/);
    const badSpeed = dolphin(['replay', os.tmpdir(), '--speed', 'fast']);
    expect((await badSpeed.exited).code).toBe(2);
    expect(badSpeed.text.join('\n')).toMatch(/--speed must be a number > 0 or "max"/);
  });
});
