import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@dolphin/core';
import { parseSystemctlShow } from '@dolphin/supervisor';
import type { RunResult, SystemdHost } from './systemd-host.ts';

/**
 * Dolphin installed by `dolphin install` into a booted systemd host (systemd-host.ts), and the
 * measurements the systemd test and bench/systemd-recovery.ts share: unit states from systemd's
 * own bookkeeping, and kill → ready from its monotonic timestamps (the host's clock: no time
 * namespace), so a figure does not carry the polling's own delay.
 */

/** The environment a command in the guest gets: the same cache as this process (the pinned node, the jar). */
export function guestEnv(): Record<string, string> {
  const env: Record<string, string> = { DOLPHIN_QUIET: '1' };
  if (process.env.DOLPHIN_CACHE) env.DOLPHIN_CACHE = process.env.DOLPHIN_CACHE;
  return env;
}

/** Runs this checkout's `./dolphin` in the guest (as root there). */
export function dolphinIn(host: SystemdHost, args: string[], timeoutMs = 300_000): Promise<RunResult> {
  return host.run([path.join(REPO_ROOT, 'dolphin'), ...args], { timeoutMs, env: guestEnv() });
}

/** The installed `dolphin` command in the guest (/usr/local/bin/dolphin → the prefix). */
export function installedDolphin(host: SystemdHost, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return host.run(['/usr/local/bin/dolphin', ...args], { timeoutMs });
}

export interface UnitState {
  id: string;
  active: string;
  sub: string;
  result: string;
  pid: number;
  restarts: number;
  /** CLOCK_MONOTONIC µs when it last became active (for Type=notify: READY=1). */
  activeEnterUs: number;
}

export async function unitStates(host: SystemdHost, units: readonly string[]): Promise<UnitState[]> {
  const r = await host.systemctl('show', '--property=Id,ActiveState,SubState,Result,MainPID,NRestarts,ActiveEnterTimestampMonotonic', ...units);
  if (r.code !== 0) throw new Error(`systemctl show: ${r.stderr}`);
  return parseSystemctlShow(r.stdout, units.length).map((kv) => {
    return {
      id: kv.Id ?? '', active: kv.ActiveState ?? '', sub: kv.SubState ?? '', result: kv.Result ?? '',
      pid: Number(kv.MainPID) || 0, restarts: Number(kv.NRestarts) || 0, activeEnterUs: Number(kv.ActiveEnterTimestampMonotonic) || 0,
    };
  });
}

export async function unitState(host: SystemdHost, unit: string): Promise<UnitState> {
  return (await unitStates(host, [unit]))[0] as UnitState;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Polls `check` until it returns a value, or throws naming `what` after timeoutMs. */
export async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs: number, everyMs = 50): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Recovery {
  ms: number;
  oldPid: number;
  newPid: number;
}

/**
 * Sends `signal` to the unit's main process and waits until systemd has it active again with a
 * new main process (Type=notify: its READY=1). ms runs from just before the signal to systemd's
 * ActiveEnterTimestamp of the new process.
 */
export async function signalToReady(host: SystemdHost, unit: string, signal: 'KILL' | 'STOP', timeoutMs = 60_000): Promise<Recovery> {
  const before = await unitState(host, unit);
  if (before.active !== 'active' || before.pid === 0) throw new Error(`${unit} is ${before.active}/${before.sub}, not running`);
  const t0 = nowUs();
  const k = await host.systemctl('kill', `--signal=SIG${signal}`, '--kill-whom=main', unit);
  if (k.code !== 0) throw new Error(`systemctl kill ${unit}: ${k.stderr}`);
  const after = await until(async () => {
    const s = await unitState(host, unit);
    return s.active === 'active' && s.pid !== 0 && s.pid !== before.pid ? s : undefined;
  }, `${unit} active again after SIG${signal}`, timeoutMs, 20);
  return { ms: (after.activeEnterUs - t0) / 1000, oldPid: before.pid, newPid: after.pid };
}

/** The registry's long-running units and timers as installed (the unit files in the guest). */
export async function installedUnits(host: SystemdHost): Promise<{ services: string[]; timers: string[]; oneshots: string[] }> {
  const r = await host.systemctl('list-unit-files', '--no-legend', '--plain', 'dolphin-*.service', 'dolphin-*.timer');
  const all = r.stdout.split('\n').map((l) => l.split(/\s+/)[0] as string).filter(Boolean);
  const timers = all.filter((u) => u.endsWith('.timer'));
  const oneshots = timers.map((t) => t.replace(/\.timer$/, '.service'));
  return { services: all.filter((u) => u.endsWith('.service') && !oneshots.includes(u)), timers, oneshots };
}

/** Processes of the guest running as `user` (none after a clean stop). */
export async function processesOf(host: SystemdHost, user: string): Promise<string[]> {
  const r = await host.run(['ps', '-u', user, '-o', 'pid=,comm=']);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * `dolphin install` with a scanner stand-in: health is GREEN only with scans arriving, so once
 * the install has made the user, the code and the scans folder, `dolphin produce` runs as the
 * service user (unit scan-feed) while the install waits for health.
 */
export async function installWithScanFeed(host: SystemdHost, args: string[] = [], prefix = '/opt/dolphin', rate = 1): Promise<RunResult> {
  const scansDir = args.includes('--scans') ? args[args.indexOf('--scans') + 1] as string : '/var/lib/dolphin/scans';
  const installing = dolphinIn(host, ['install', '--prefix', prefix, ...args]);
  const ready = () => existsSync(path.join(host.root, scansDir)) && existsSync(path.join(host.root, prefix, 'dolphin.env'));
  const settled = await Promise.race([
    installing.then(() => 'ended' as const),
    until(async () => (ready() ? ('ready' as const) : undefined), 'the install to make the scans folder', 240_000, 200),
  ]);
  if (settled === 'ready') {
    const feed = await host.run(['systemd-run', '--unit=scan-feed', '--property=User=dolphin', path.join(prefix, 'dolphin'), 'produce', '--dir', scansDir, '--rate', String(rate)]);
    if (feed.code !== 0) throw new Error(`the scan feed did not start: ${feed.stderr}`);
  }
  return installing;
}
