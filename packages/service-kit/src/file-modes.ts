import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What Dolphin writes — ledgers, jobs.db, positions, logs, run files — is its own business:
 * files 0640 and folders 0750 (group may read, others nothing). Every Dolphin process runs with
 * this umask; systemd's units say UMask=0027 too.
 */
export const DOLPHIN_UMASK = 0o027;

export function applyUmask(): void {
  process.umask(DOLPHIN_UMASK);
}

/**
 * `dir` made if missing (0750), and — when this process owns them — it and the files directly in
 * it stripped of what the umask forbids: folders and files an earlier version made 0755 / 0644
 * stop being readable by every local user. Not recursive (the scan cache can hold thousands).
 */
export function secureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const uid = process.getuid?.();
  const tighten = (p: string) => {
    try {
      const st = statSync(p);
      if (uid !== undefined && st.uid !== uid) return;
      const mode = st.mode & 0o7777;
      if ((mode & DOLPHIN_UMASK) !== 0) chmodSync(p, mode & ~DOLPHIN_UMASK);
    } catch { /* gone meanwhile, or not ours to change */ }
  };
  tighten(dir);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) tighten(path.join(dir, n));
}
