import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DATE_DIR_RE, isScanFileName } from '@dolphin/scanfile';

export interface FileStamp {
  file: string;
  mtimeNs: number;
}

/**
 * Scan files in date folders from `fromDate` on (all when undefined), oldest first by
 * modification time. Only folders that can hold newer files are read, so a start over a
 * folder of thousands of old files stays quick.
 */
export function listScanFiles(scanDir: string, fromDate?: string): FileStamp[] {
  const out: FileStamp[] = [];
  let dirs: string[] = [];
  try {
    dirs = readdirSync(scanDir).filter((d) => DATE_DIR_RE.test(d) && (fromDate === undefined || d >= fromDate));
  } catch {
    return out;
  }
  for (const d of dirs) {
    const dir = path.join(scanDir, d);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!isScanFileName(name)) continue;
      const file = path.join(dir, name);
      try {
        out.push({ file, mtimeNs: Number(statSync(file, { bigint: true }).mtimeNs) });
      } catch { /* removed meanwhile */ }
    }
  }
  return out.sort((a, b) => a.mtimeNs - b.mtimeNs || (a.file < b.file ? -1 : 1));
}

/**
 * The `limit` newest scan files by modification time, oldest first, reading date folders from
 * the newest back only until enough are found: a first start over a large archive reads little.
 */
export function newestScanFiles(scanDir: string, limit: number): FileStamp[] {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(scanDir).filter((d) => DATE_DIR_RE.test(d)).sort().reverse();
  } catch {
    return [];
  }
  const out: FileStamp[] = [];
  for (const d of dirs) {
    out.push(...listScanFiles(scanDir, d).filter((f) => path.basename(path.dirname(f.file)) === d));
    if (out.length >= limit) break;
  }
  return out.sort((a, b) => a.mtimeNs - b.mtimeNs || (a.file < b.file ? -1 : 1)).slice(-limit);
}
