import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { isSecretEnvName, type DolphinConfig, type Logger, type ServiceEntry, type ServiceRegistry } from '@dolphin/core';
import { MEMBER_CONFIG_FILE, memberJvmArgs, portAnswers, resolveJava, resolveMemberJar } from '@dolphin/hz';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { CLOCK_TICKS_PER_S, groupUsage, readAllStats } from './proc-stats.ts';
import { mainOf, startOrder } from './registry.ts';
import { ScheduledRuns } from './schedule.ts';
import { SupervisedProcess, type LaunchSpec, type ProcessStatus } from './supervised-process.ts';

const SETPRIV = '/usr/bin/setpriv';
/** What the member's JVM is given of the environment (plus LC_*). */
const MEMBER_ENV = new Set(['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'JAVA_HOME', 'USER', 'LOGNAME']);
/** A process over its CPU quota this many samples in a row is reported (the quota itself is systemd's to enforce). */
const CPU_WARN_SAMPLES = 10;

export interface SupervisorOptions {
  /** The registry to run (see effectiveRegistry). */
  registry: ServiceRegistry;
  config: Readonly<DolphinConfig>;
  logDir: string;
  /** Environment every child starts from (HZ_MEMBERS, DOLPHIN_ENV, …). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Reads DOLPHIN_HEARTBEAT[name], for entries whose readiness is `heartbeat`. */
  heartbeatOf?: (name: string) => Promise<{ pid: number; state: string } | undefined>;
}

export interface SupervisorStatus {
  pid: number;
  startedAt: string;
  uptimeS: number;
  services: ProcessStatus[];
}

/**
 * Runs the registry: starts in dependency order (each after the ones it depends on are ready or
 * have failed), watches every process group's memory, CPU and tasks each `sampleMs`, restarts
 * what exits or breaks a limit, stops in reverse order. An entry with a `schedule` is not started
 * at boot: it runs to completion at its times (ScheduledRuns), is never restarted, and waits as
 * `scheduled` in between. Emits `state` (name, to, from, detail), `exit` (name, exit, reason) and
 * `warning` (name, message).
 */
export class Supervisor extends EventEmitter {
  readonly processes: SupervisedProcess[];
  private readonly byName = new Map<string, SupervisedProcess>();
  private readonly schedules = new Map<string, ScheduledRuns>();
  private readonly o: SupervisorOptions;
  private sampler: NodeJS.Timeout | undefined;
  private lastTicks = new Map<string, { ticks: number; at: number; pid: number }>();
  private overCpu = new Map<string, number>();
  private gpu = new Map<number, number>();
  private gpuTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();
  private stopping: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    super();
    this.o = options;
    const s = options.config.supervisor;
    this.processes = startOrder(options.registry).map((named) => {
      // A scheduled run is a oneshot: done when it exits, whatever its code; no readiness to wait for.
      const e = named.schedule ? { ...named, restart: { ...named.restart, mode: 'never' as const }, readiness: { ...named.readiness, kind: 'none' as const } } : named;
      const p = new SupervisedProcess(e.name, e, () => this.launchSpec(e.name, e), { logDir: options.logDir, logMaxBytes: s.logMaxBytes, logKeep: s.logKeep, logger: options.logger });
      const runs = e.schedule && new ScheduledRuns(p, e.schedule, { stateDir: options.config.stateDir, logger: options.logger, onWarning: (m) => this.emit('warning', e.name, m) });
      if (runs) this.schedules.set(e.name, runs);
      // Between runs a scheduled entry is `scheduled`, not stopped.
      p.on('state', (to, from, detail) => (runs && to === 'stopped' ? this.emit('state', e.name, 'scheduled', from, runs.words()) : this.emit('state', e.name, to, from, detail)));
      p.on('exit', (exit, reason) => this.emit('exit', e.name, exit, reason));
      this.byName.set(e.name, p);
      return p;
    });
  }

  get(name: string): SupervisedProcess | undefined {
    return this.byName.get(name);
  }

  /**
   * How each kind of entry is run. No child inherits a secret from the environment (a token in an
   * environment variable would reach every process, the JVM's too): only what its entry names.
   * The member gets the few variables a JVM needs and nothing of Dolphin's.
   */
  private launchSpec(name: string, e: ServiceEntry): LaunchSpec {
    const { config } = this.o;
    const inherited = Object.fromEntries(Object.entries(this.o.env).filter(([k]) => !isSecretEnvName(k)));
    const env: NodeJS.ProcessEnv = e.kind === 'member'
      ? { ...Object.fromEntries(Object.entries(inherited).filter(([k]) => MEMBER_ENV.has(k) || k.startsWith('LC_'))), ...e.env }
      : { ...inherited, ...SERVICE_ENV, ...e.env };
    // A parent-death signal for processes without an IPC channel: none outlives a killed supervisor.
    const orphanSafe = (command: string, args: string[]): [string, string[]] =>
      (process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, args]);
    if (e.kind === 'service') {
      if (e.metricsPort > 0) env.DOLPHIN__metrics__port = String(e.metricsPort);
      return {
        command: process.execPath, args: [...SERVICE_NODE_FLAGS, mainOf(name, e), ...e.args], env, ipc: true,
        ...(this.o.heartbeatOf ? { heartbeatOf: this.o.heartbeatOf } : {}),
      };
    }
    if (e.kind === 'member') {
      const { port, address } = config.member;
      const args = memberJvmArgs({
        port, address, clusterName: config.hazelcast.clusterName, jar: resolveMemberJar(), configFile: MEMBER_CONFIG_FILE,
        heapMb: config.member.heapMb, members: [`${address}:${port}`], extra: config.member.jvmArgs,
      });
      const [command, argv] = orphanSafe(resolveJava(config.member.javaHome), args);
      return {
        command, args: argv, env, ipc: false,
        readyUrl: e.readiness.url ?? `http://${address}:${port}/hazelcast/health/ready`,
        preflight: async () => ((await portAnswers(address, port, 300)) ? `member port ${address}:${port} is already in use (another member? see dolphin status)` : undefined),
      };
    }
    const [cmd, ...rest] = e.command as string[];
    const ipc = e.readiness.kind === 'ipc';
    const [command, argv] = ipc ? [cmd as string, [...rest, ...e.args]] : orphanSafe(cmd as string, [...rest, ...e.args]);
    return {
      command, args: argv, env, ipc,
      ...(e.readiness.url ? { readyUrl: e.readiness.url } : {}),
      ...(this.o.heartbeatOf ? { heartbeatOf: this.o.heartbeatOf } : {}),
    };
  }

  /**
   * Starts each process once the ones it depends on are ready (or have failed: a dependency that
   * cannot start does not hold the rest back); independent ones start side by side. Resolves
   * once every process is ready or has failed.
   */
  async startAll(): Promise<void> {
    this.startSampling();
    const settled = new Map<string, Promise<void>>();
    for (const p of this.processes) {
      const deps = p.entry.dependsOn.map((d) => settled.get(d)).filter((x): x is Promise<void> => x !== undefined);
      const runs = this.schedules.get(p.name);
      if (runs) {
        // Nothing to wait for: it starts at its time, once what it depends on has started.
        settled.set(p.name, Promise.resolve());
        if (runs.error) this.emit('state', p.name, 'failed', 'stopped', runs.error);
        else void Promise.all(deps).then(() => (this.stopping ? undefined : runs.arm()));
        continue;
      }
      const done = p.whenSettled();
      settled.set(p.name, done);
      void Promise.all(deps).then(() => (this.stopping ? undefined : p.start()));
    }
    await Promise.all(settled.values());
  }

  /** Stops everything, dependents first; repeated calls share one stop. */
  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.sampler);
      clearTimeout(this.gpuTimer);
      for (const runs of this.schedules.values()) runs.close();
      for (const p of [...this.processes].reverse()) await p.stop('supervisor stopping');
      for (const p of this.processes) p.close();
    })();
    return this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  status(): SupervisorStatus {
    return {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeS: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      services: this.processes.map((p) => this.statusOf(p)),
    };
  }

  /** A process's status; a scheduled one's says `scheduled`, its next run and its last exit between runs. */
  private statusOf(p: SupervisedProcess): ProcessStatus {
    const st = p.status();
    const runs = this.schedules.get(p.name);
    if (!runs) return st;
    const schedule = runs.view();
    if (runs.error) return { ...st, state: 'failed', detail: runs.error, schedule };
    const idle = st.state === 'stopped' || st.state === 'failed';
    const lastExit = st.lastExit ?? runs.lastExit;
    return { ...st, state: idle ? 'scheduled' : st.state, detail: idle ? runs.words() : st.detail, ...(lastExit ? { lastExit } : {}), schedule };
  }

  private startSampling(): void {
    if (this.sampler) return;
    this.sampler = setInterval(() => this.sample(), this.o.config.supervisor.sampleMs);
    this.sampler.unref();
    this.sampleGpu();
  }

  /** One pass over /proc: each group's RSS, CPU % since the last sample, and tasks. */
  sample(): void {
    const groups = new Map<number, SupervisedProcess>();
    for (const p of this.processes) if (p.group !== undefined) groups.set(p.group, p);
    if (groups.size === 0) return;
    const usage = groupUsage(readAllStats(), new Set(groups.keys()));
    const now = Date.now();
    for (const [pgid, p] of groups) {
      const u = usage.get(pgid);
      if (!u) continue;
      const last = this.lastTicks.get(p.name);
      const cpuPct = last && last.pid === pgid && now > last.at ? ((u.cpuTicks - last.ticks) / CLOCK_TICKS_PER_S) / ((now - last.at) / 1000) * 100 : 0;
      this.lastTicks.set(p.name, { ticks: u.cpuTicks, at: now, pid: pgid });
      const gpuBytes = this.gpu.size > 0 ? u.pids.reduce((sum, pid) => sum + (this.gpu.get(pid) ?? 0), 0) : undefined;
      p.observe({ rssBytes: u.rssBytes, cpuPct: Math.max(0, Math.round(cpuPct * 10) / 10), tasks: u.tasks, ...(gpuBytes !== undefined ? { gpuBytes } : {}) });
      const n = cpuPct > p.entry.limits.cpuQuotaPct ? (this.overCpu.get(p.name) ?? 0) + 1 : 0;
      this.overCpu.set(p.name, n);
      if (n === CPU_WARN_SAMPLES) this.emit('warning', p.name, `CPU ${Math.round(cpuPct)} % over its quota of ${p.entry.limits.cpuQuotaPct} % for ${CPU_WARN_SAMPLES} samples (systemd enforces CPUQuota in production)`);
    }
  }

  /** GPU memory per pid from nvidia-smi every 5 s, where there is one. */
  private sampleGpu(): void {
    const paths = (process.env.PATH ?? '').split(':').map((d) => `${d}/nvidia-smi`);
    if (!paths.some((p) => existsSync(p))) return;
    const poll = () => {
      execFile('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { timeout: 2_000 }, (err, out) => {
        if (!err) {
          const m = new Map<number, number>();
          for (const line of out.split('\n')) {
            const [pid, mib] = line.split(',').map((x) => Number(x.trim()));
            if (pid && mib !== undefined && Number.isFinite(mib)) m.set(pid, mib * 1024 * 1024);
          }
          this.gpu = m;
        }
        if (!this.stopping) {
          this.gpuTimer = setTimeout(poll, 5_000);
          this.gpuTimer.unref();
        }
      });
    };
    poll();
  }
}
