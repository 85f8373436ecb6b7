import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in `file` if that process still runs, else undefined (a stale file is removed). */
export function runningPid(file: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

/** Claims `file` for this process; returns the other owner's pid when one is already running. */
export function claimPidFile(file: string): { release(): void } | { heldBy: number } {
  const other = runningPid(file);
  if (other !== undefined && other !== process.pid) return { heldBy: other };
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = runningPid(file);
    if (holder !== undefined) return { heldBy: holder };
    writeFileSync(file, String(process.pid));
  }
  return { release: () => { if (runningPid(file) === process.pid) rmSync(file, { force: true }); } };
}
