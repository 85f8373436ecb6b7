import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { readRunFile } from '@dolphin/supervisor';
import { LOG_DIR, SUPERVISOR_RUN_FILE } from '../paths.ts';

/** The last `n` lines of `text`. */
export function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-n).join('\n');
}

function readFrom(file: string, from: number): { text: string; end: number } {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, from + off);
      if (n === 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString('utf8'), end: from + off };
  } finally {
    closeSync(fd);
  }
}

/** `dolphin logs <svc> [-n N] [-f]`: a service's log file, followed across rotations with -f. */
export async function logs(name: string, o: { lines: number; follow: boolean }): Promise<number> {
  const dir = readRunFile(SUPERVISOR_RUN_FILE)?.logDir ?? LOG_DIR;
  const file = path.join(dir, `${name}.log`);
  if (!existsSync(file)) {
    // Under systemd the services log to the journal.
    const { installedUnits, journalLogs } = await import('../systemd-status.ts');
    if (installedUnits().includes(`dolphin-${name}.service`)) return journalLogs(name, o);
    console.error(`dolphin: no log for "${name}" in ${dir}`);
    return 2;
  }
  const first = readFrom(file, Math.max(0, statSync(file).size - 1024 * 1024));
  const tail = lastLines(first.text, o.lines);
  if (tail) process.stdout.write(`${tail}\n`);
  if (!o.follow) return 0;
  let pos = first.end;
  let ino = statSync(file).ino;
  return new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      let st;
      try {
        st = statSync(file);
      } catch {
        return; // between a rotation's rename and the new file
      }
      if (st.ino !== ino || st.size < pos) { // rotated or truncated: the new file from its start
        ino = st.ino;
        pos = 0;
      }
      if (st.size > pos) {
        const r = readFrom(file, pos);
        pos = r.end;
        process.stdout.write(r.text);
      }
    }, 200);
    process.once('SIGINT', () => {
      clearInterval(timer);
      resolve(0);
    });
  });
}
