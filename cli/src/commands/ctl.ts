import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, MetaHealthFiles } from '@dolphin/core';
import { ControlClient, type ProcessStatus, type SupervisorStatus } from '@dolphin/supervisor';
import { SUPERVISOR_RUN_FILE } from '../paths.ts';

const NOT_RUNNING = 3; // as systemctl status says of an inactive unit

function client(): ControlClient | undefined {
  const c = ControlClient.fromRunFile(SUPERVISOR_RUN_FILE);
  if (!c) console.error('dolphin: not running (no supervisor answers; start it with ./dolphin up)');
  return c;
}

export function duration(s: number | undefined): string {
  if (s === undefined) return '—';
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h ${Math.floor((s % 3_600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3_600)}h`;
}

const mb = (b: number | undefined) => (b === undefined ? '—' : `${(b / 1024 / 1024).toFixed(0)} MB`);

interface HealthView {
  byProcess: Map<string, string>;
  /** One line: status and rm_meta, or why there is none. */
  line: string;
}

/** Meta-health's view of each process, from its file (readable while Hazelcast is down); fresh only. */
function readHealth(): HealthView {
  const byProcess = new Map<string, string>();
  try {
    const file = path.join(loadConfig().stateDir, MetaHealthFiles.LATEST);
    if (!existsSync(file)) return { byProcess, line: 'health: none yet (meta-health writes it each cycle)' };
    const h = JSON.parse(readFileSync(file, 'utf8')) as { timestamp?: string; status?: string; rm_meta?: number; subsystem_health?: { processes?: Record<string, { status?: string }> } };
    const age = h.timestamp ? (Date.now() - Date.parse(h.timestamp)) / 1000 : Number.POSITIVE_INFINITY;
    if (age > 15) return { byProcess, line: `health: last record ${Number.isFinite(age) ? `${Math.round(age)} s` : 'long'} ago — is meta-health running?` };
    for (const [name, p] of Object.entries(h.subsystem_health?.processes ?? {})) if (p.status) byProcess.set(name, p.status);
    return { byProcess, line: `health ${h.status} (rm_meta ${h.rm_meta}, ${age.toFixed(1)} s ago); dolphin health for the sensors` };
  } catch {
    return { byProcess, line: 'health: unreadable record' };
  }
}

/** Rows as lines of left-aligned columns, two spaces apart. */
export function alignRows(rows: readonly string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd());
}

/** A table a PM2 user recognises: one line per process. */
export function statusTable(s: SupervisorStatus, health: HealthView): string {
  const rows = [['name', 'state', 'pid', 'uptime', 'restarts', 'cpu', 'memory', 'tasks', 'health']];
  for (const p of s.services) {
    const u = p.usage;
    rows.push([
      p.name + (p.critical ? ' *' : ''), p.state, p.pid === undefined ? '—' : String(p.pid), duration(p.uptimeS), String(p.restarts),
      u ? `${u.cpuPct.toFixed(1)}%` : '—', u ? `${mb(u.rssBytes)}/${p.limits.memoryMaxMb}` : '—', u ? `${u.tasks}/${p.limits.tasksMax}` : '—',
      health.byProcess.get(p.name) ?? (p.state === 'running' ? 'ready' : '—'),
    ]);
  }
  const lines = alignRows(rows);
  const notes = s.services.filter((p) => (p.state === 'failed' || p.state === 'backoff' || p.state === 'scheduled' || (p.state === 'stopped' && p.detail)) && p.detail).map((p) => `  ${p.name}: ${p.detail}`);
  return [`supervisor pid ${s.pid}, up ${duration(s.uptimeS)} (* critical; memory and tasks against their limits)`, ...lines, ...(notes.length ? ['', ...notes] : []), '', health.line].join('\n');
}

export async function status(o: { json: boolean }): Promise<number> {
  if (!ControlClient.fromRunFile(SUPERVISOR_RUN_FILE)) {
    // No supervisor: systemd may be running Dolphin's units (dolphin install).
    const { installedUnits, systemdStatusTable } = await import('../systemd-status.ts');
    const units = installedUnits();
    if (units.length > 0) {
      const t = systemdStatusTable(units);
      console.log(`${t.text}\n\n${readHealth().line}`);
      return t.failed ? 1 : 0;
    }
  }
  const c = client();
  if (!c) return NOT_RUNNING;
  const s = await c.status();
  console.log(o.json ? JSON.stringify(s, null, 2) : statusTable(s, readHealth()));
  return s.services.some((p) => p.state === 'failed') ? 1 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Restarts one service and waits until it is running again (or says why not). */
export async function restart(name: string): Promise<number> {
  const c = client();
  if (!c) return NOT_RUNNING;
  const t0 = Date.now();
  const before = (await c.status()).services.find((p) => p.name === name);
  const r = await c.act(name, 'restart');
  if (r.status !== 202) {
    console.error(`dolphin: ${r.body.error ?? `HTTP ${r.status}`}`);
    return r.status === 404 ? 2 : 1;
  }
  for (;;) {
    await sleep(100);
    const p = (await c.status()).services.find((x) => x.name === name) as ProcessStatus;
    const fresh = p.pid !== undefined && p.pid !== before?.pid;
    if (p.state === 'running' && fresh) {
      console.log(`dolphin: ${name} restarted (pid ${p.pid}, ready in ${Date.now() - t0} ms)`);
      return 0;
    }
    if (p.state === 'failed' || (p.state === 'stopped' && Date.now() - t0 > 2_000)) {
      console.error(`dolphin: ${name} did not come back: ${p.state}${p.detail ? ` — ${p.detail}` : ''}; see ${p.logFile}`);
      return 1;
    }
    if (Date.now() - t0 > 180_000) {
      console.error(`dolphin: ${name} not running after 180 s (${p.state}); see ${p.logFile}`);
      return 1;
    }
  }
}

/** Asks the supervisor to stop everything and waits until it has exited. */
export async function down(): Promise<number> {
  const c = client();
  if (!c) return NOT_RUNNING;
  await c.shutdown();
  const t0 = Date.now();
  for (;;) {
    try {
      process.kill(c.run.pid, 0);
    } catch {
      console.log(`dolphin: stopped (supervisor pid ${c.run.pid}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return 0;
    }
    if (Date.now() - t0 > 180_000) {
      console.error(`dolphin: the supervisor (pid ${c.run.pid}) is still stopping after 180 s`);
      return 1;
    }
    await sleep(100);
  }
}
