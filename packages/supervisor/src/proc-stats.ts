import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat the supervisor uses. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z, T, … */
  state: string;
  ppid: number;
  pgrp: number;
  /** user + system time in clock ticks. */
  cpuTicks: number;
  threads: number;
  rssPages: number;
}

/**
 * Parses /proc/<pid>/stat. The command name may hold spaces and parentheses, so the fields are
 * counted from the last ')'.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).split(' ');
  // After the name: state(3) ppid(4) pgrp(5) … utime(14) stime(15) … num_threads(20) … rss(24), numbered as in proc(5).
  const at = (n: number) => Number(f[n - 3]);
  const stat: ProcStat = {
    pid: Number(text.slice(0, open).trim()),
    state: f[0] ?? '?',
    ppid: at(4),
    pgrp: at(5),
    cpuTicks: at(14) + at(15),
    threads: at(20),
    rssPages: at(24),
  };
  return Number.isFinite(stat.pid) && Number.isFinite(stat.rssPages) ? stat : undefined;
}

/** Linux's clock tick for /proc times (USER_HZ): 100 on every architecture Dolphin runs on. */
export const CLOCK_TICKS_PER_S = 100;

let pageSize: number | undefined;
/** Bytes per page, read once from this process's own /proc numbers (VmRSS in kB against rss in pages). */
export function systemPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  try {
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    const pages = parseStat(readFileSync('/proc/self/stat', 'utf8'))?.rssPages ?? 0;
    const guess = (kb * 1024) / pages;
    pageSize = [4096, 16_384, 65_536].reduce((best, p) => (Math.abs(p - guess) < Math.abs(best - guess) ? p : best), 4096);
  } catch {
    pageSize = 4096;
  }
  return pageSize;
}

export interface GroupUsage {
  /** Live processes of the group (zombies left out). */
  pids: number[];
  rssBytes: number;
  cpuTicks: number;
  /** Threads of all its processes: what systemd's TasksMax counts. */
  tasks: number;
}

/** Every live process of /proc, one pass. */
export function readAllStats(procDir = '/proc'): ProcStat[] {
  const out: ProcStat[] = [];
  let names: string[];
  try {
    names = readdirSync(procDir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    try {
      const s = parseStat(readFileSync(`${procDir}/${name}/stat`, 'utf8'));
      if (s && s.state !== 'Z' && s.state !== 'X') out.push(s);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** The usage of each process group in `pgids`, summed over its members. */
export function groupUsage(stats: readonly ProcStat[], pgids: ReadonlySet<number>): Map<number, GroupUsage> {
  const page = systemPageSize();
  const out = new Map<number, GroupUsage>();
  for (const s of stats) {
    if (!pgids.has(s.pgrp)) continue;
    let g = out.get(s.pgrp);
    if (!g) out.set(s.pgrp, (g = { pids: [], rssBytes: 0, cpuTicks: 0, tasks: 0 }));
    g.pids.push(s.pid);
    g.rssBytes += s.rssPages * page;
    g.cpuTicks += s.cpuTicks;
    g.tasks += s.threads;
  }
  return out;
}

/** True while any live process is in group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill() also reaches zombies waiting to be reaped: look at what the group really holds.
  return readAllStats().some((s) => s.pgrp === pgid);
}
