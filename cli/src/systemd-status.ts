import { spawn } from 'node:child_process';
import { alignRows, duration } from './commands/ctl.ts';
import { run, showUnits } from './install/systemctl.ts';

/** Dolphin's unit files on this machine (dolphin install put them there), services and timers. */
export function installedUnits(): string[] {
  const r = run('systemctl', ['list-unit-files', '--no-legend', '--plain', 'dolphin-*.service', 'dolphin-*.timer']);
  if (r.code !== 0) return [];
  return r.out.split('\n').map((l) => l.split(/\s+/)[0] as string).filter(Boolean);
}

const PROPS = ['Id', 'ActiveState', 'SubState', 'MainPID', 'ActiveEnterTimestampMonotonic', 'NRestarts', 'MemoryCurrent', 'MemoryMax', 'TasksCurrent', 'TasksMax', 'CPUUsageNSec', 'Result', 'NextElapseUSecRealtime', 'LastTriggerUSec'];

const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
const mb = (b: number | undefined) => (b === undefined || b >= 2 ** 63 ? undefined : Math.round(b / 1024 / 1024));

/** The units' state as a table: what `dolphin status` shows when systemd runs Dolphin. */
export function systemdStatusTable(units: readonly string[]): { text: string; failed: boolean } {
  const nowUs = Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC, as systemd's *Monotonic
  const rows = [['unit', 'state', 'pid', 'uptime', 'restarts', 'cpu', 'memory MB', 'tasks']];
  let failed = false;
  for (const kv of showUnits(units, PROPS)) {
    const id = kv.Id ?? '?';
    failed ||= kv.ActiveState === 'failed';
    if (id.endsWith('.timer')) {
      rows.push([id, `${kv.ActiveState} (${kv.SubState})`, '—', '—', '—', '—', '—', kv.NextElapseUSecRealtime ? `next ${kv.NextElapseUSecRealtime}` : '—']);
      continue;
    }
    const pid = num(kv.MainPID);
    const since = num(kv.ActiveEnterTimestampMonotonic);
    const up = kv.ActiveState === 'active' && since ? Math.max(0, Math.round((nowUs - since) / 1e6)) : undefined;
    const cpu = num(kv.CPUUsageNSec);
    const mem = mb(num(kv.MemoryCurrent));
    const max = mb(num(kv.MemoryMax));
    rows.push([
      id.replace(/\.service$/, ''), kv.ActiveState === kv.SubState ? String(kv.ActiveState) : `${kv.ActiveState} (${kv.SubState})`,
      pid ? String(pid) : '—', duration(up), kv.NRestarts ?? '0', cpu === undefined ? '—' : `${(cpu / 1e9).toFixed(1)}s`,
      mem === undefined ? '—' : `${mem}/${max ?? '∞'}`, `${kv.TasksCurrent && /^\d+$/.test(kv.TasksCurrent) ? kv.TasksCurrent : '—'}/${num(kv.TasksMax) ?? '∞'}`,
    ]);
  }
  const lines = alignRows(rows);
  return { text: ['systemd runs Dolphin here (dolphin install); memory and tasks against MemoryMax and TasksMax', ...lines].join('\n'), failed };
}

/** `journalctl -u dolphin-<name>`: the last lines, and with follow the new ones until Ctrl-C. */
export function journalLogs(name: string, o: { lines: number; follow: boolean }): Promise<number> {
  const args = ['-u', `dolphin-${name}.service`, '-n', String(o.lines), '-o', 'cat', '--no-pager', ...(o.follow ? ['-f'] : [])];
  return new Promise((resolve) => {
    const child = spawn('journalctl', args, { stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(`dolphin: journalctl did not run: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code) => resolve(code ?? 0));
    process.once('SIGINT', () => child.kill('SIGINT'));
  });
}
