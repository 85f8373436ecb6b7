import { copyFileSync, mkdirSync, renameSync, unlinkSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isoMicros } from '@dolphin/core';

export interface QuarantineRecord {
  file: string;
  code: string;
  reason: string;
  size: number | null;
  quarantined_at: string;
  by_pid: number;
}

/**
 * Moves an unreadable scan file out of the scan folder into `quarantineDir` (same relative
 * path) and writes `<name>.reason.json` beside it. Returns where it went, or undefined if the
 * file was already gone.
 */
export function quarantineFile(file: string, scanDir: string, quarantineDir: string, code: string, reason: string): string | undefined {
  const rel = path.relative(scanDir, file);
  const dest = path.join(quarantineDir, rel.startsWith('..') ? path.basename(file) : rel);
  let size: number | null = null;
  try {
    size = statSync(file).size;
  } catch {
    return undefined;
  }
  mkdirSync(path.dirname(dest), { recursive: true });
  try {
    renameSync(file, dest);
  } catch (err) {
    const code_ = (err as NodeJS.ErrnoException).code;
    if (code_ === 'ENOENT') return undefined;
    if (code_ !== 'EXDEV') throw err;
    copyFileSync(file, dest); // another filesystem: copy, then remove
    unlinkSync(file);
  }
  const record: QuarantineRecord = { file: rel, code, reason, size, quarantined_at: isoMicros(), by_pid: process.pid };
  writeFileSync(`${dest}.reason.json`, `${JSON.stringify(record, null, 2)}\n`);
  return dest;
}
