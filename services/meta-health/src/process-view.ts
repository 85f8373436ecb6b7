import { execFile } from 'node:child_process';
import type { Logger, ServiceRegistry } from '@dolphin/core';
import { makeError } from '@dolphin/core';
import { ControlClient, parseSystemctlShow, SupervisorErrors } from '@dolphin/supervisor';
import type { ProcessObservation } from './sensors.ts';

/** One process as the process manager reports it (heartbeats are joined in later). */
export type ProcessInfo = Omit<ProcessObservation, 'heartbeat'> & { metricsPort: number };

/** Where meta-health sees processes and restarts them: the local supervisor, systemd, or nowhere. */
export interface ProcessView {
  readonly kind: 'supervisor' | 'systemctl' | 'none';
  /** The processes, or undefined when the process manager cannot be asked right now. */
  processes(): Promise<ProcessInfo[] | undefined>;
  /** Dolphin's own control port to check (M4), if any. */
  controlPort(): number | undefined;
  restart(name: string): Promise<void>;
  /** Whether recovery may restart this one through the view (default: all of them). */
  restartable?(name: string): boolean;
}

const beatsOf = (registry: ServiceRegistry, name: string) => registry[name]?.heartbeat ?? (name !== 'member');

/** The supervisor of `dolphin up`, through its control endpoint (its run file says where). */
export class SupervisorView implements ProcessView {
  readonly kind = 'supervisor';
  private client: ControlClient | undefined;
  private readonly runFile: string;

  constructor(runFile: string) {
    this.runFile = runFile;
  }

  private get(): ControlClient | undefined {
    this.client ??= ControlClient.fromRunFile(this.runFile, 1_000);
    return this.client;
  }

  controlPort(): number | undefined {
    return this.get()?.run.port;
  }

  async processes(): Promise<ProcessInfo[] | undefined> {
    const c = this.get();
    if (!c) return undefined;
    try {
      const s = await c.status();
      return s.services.map((p) => ({
        name: p.name, critical: p.critical, state: p.state, wanted: p.wanted, pid: p.pid, restarts: p.restarts,
        beats: p.heartbeat, metricsPort: p.metricsPort, scheduled: p.schedule !== undefined,
      }));
    } catch {
      this.client = undefined; // a new supervisor may have a new run file
      return undefined;
    }
  }

  async restart(name: string): Promise<void> {
    const c = this.get();
    if (!c) throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_NOT_RUNNING, `no supervisor answers (run file ${this.runFile})`);
    const r = await c.act(name, 'restart');
    if (r.status !== 202) throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_REFUSED, `restart ${name}: ${r.body.error ?? `HTTP ${r.status}`}`);
  }
}

function systemctl(args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('systemctl', args, { timeout: timeoutMs }, (err, stdout, stderr) => (err ? reject(new Error(`systemctl ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout)));
  });
}

/**
 * A unit's ActiveState/SubState as meta-health's process state. Long-running units restart
 * themselves (Restart=always), so an inactive one was stopped by a person. A scheduled entry's
 * unit is a oneshot its timer starts: `activating` while it runs, inactive between runs.
 */
export function unitState(active: string, sub: string, scheduled: boolean): { state: ProcessInfo['state']; wanted: boolean } {
  if (scheduled) {
    const state = active === 'activating' || active === 'active' || active === 'deactivating' ? 'running' : active === 'failed' ? 'failed' : 'scheduled';
    return { state, wanted: true };
  }
  const state: ProcessInfo['state'] = active === 'active' ? 'running'
    : sub === 'auto-restart' ? 'backoff'
      : active === 'activating' ? 'starting'
        : active === 'deactivating' ? 'stopping'
          : active === 'failed' ? 'failed' : active === 'inactive' ? 'stopped' : 'unknown';
  return { state, wanted: state !== 'stopped' };
}

/** systemd's view of the dolphin-<name>.service units (production). */
export class SystemdView implements ProcessView {
  readonly kind = 'systemctl';
  private readonly registry: ServiceRegistry;

  constructor(registry: ServiceRegistry) {
    this.registry = registry;
  }

  controlPort(): number | undefined {
    return undefined;
  }

  async processes(): Promise<ProcessInfo[] | undefined> {
    const names = Object.keys(this.registry);
    let out: string;
    try {
      out = await systemctl(['show', '--property=Id,ActiveState,SubState,MainPID,NRestarts', ...names.map((n) => `dolphin-${n}.service`)]);
    } catch {
      return undefined;
    }
    const shown = parseSystemctlShow(out, names.length);
    return names.map((name, i) => {
      const kv = shown[i] as Record<string, string>;
      const e = this.registry[name];
      const scheduled = e?.schedule !== undefined;
      const { state, wanted } = unitState(kv.ActiveState ?? 'unknown', kv.SubState ?? '', scheduled);
      const pid = Number(kv.MainPID);
      return {
        name, critical: e?.critical ?? false, state, wanted,
        pid: pid > 0 ? pid : undefined, restarts: Number(kv.NRestarts) || 0,
        beats: beatsOf(this.registry, name), metricsPort: e?.metricsPort ?? 0, scheduled,
      };
    });
  }

  async restart(name: string): Promise<void> {
    // try-restart: a unit an operator stopped (systemctl stop dolphin.target) stays stopped; a
    // plain restart raced the stop and started the member again behind it.
    await systemctl(['try-restart', '--no-block', `dolphin-${name}.service`]);
  }

  /**
   * Only the member: systemd restarts every unit that exits (Restart=always) and kills a Node
   * service that stops petting its watchdog (WatchdogSec=), so the one thing left is a JVM that
   * runs but does not answer, which cannot pet a watchdog. The polkit rule allows just that.
   */
  restartable(name: string): boolean {
    return this.registry[name]?.kind === 'member';
  }
}

/** No process manager to ask: processes are judged by their heartbeats alone, and nothing is restarted. */
export class HeartbeatOnlyView implements ProcessView {
  readonly kind = 'none';
  private readonly registry: ServiceRegistry;
  private readonly logger: Logger;

  constructor(registry: ServiceRegistry, logger: Logger) {
    this.registry = registry;
    this.logger = logger;
  }

  controlPort(): number | undefined {
    return undefined;
  }

  async processes(): Promise<ProcessInfo[] | undefined> {
    return Object.entries(this.registry).filter(([, e]) => e.kind !== 'member').map(([name, e]) => ({
      name, critical: e.critical, state: 'unknown', wanted: true, pid: undefined, restarts: 0, beats: e.heartbeat, metricsPort: e.metricsPort, scheduled: e.schedule !== undefined,
    }));
  }

  async restart(name: string): Promise<void> {
    this.logger.warn({ target: name }, `would restart ${name}, but there is no process manager to ask (metaHealth.recoveryVia)`);
  }
}
