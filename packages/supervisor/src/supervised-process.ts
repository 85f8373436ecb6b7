import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger, ServiceEntry } from '@dolphin/core';
import { PRELOAD_SCRIPT } from '@dolphin/service-kit';
import { groupAlive } from './proc-stats.ts';
import { RestartTracker, type ExitInfo } from './restart-policy.ts';
import { RotatingLog } from './rotating-log.ts';

/**
 * stopped: not running, and not to be started by itself; failed: given up, until a person restarts
 * it; scheduled: an entry with a schedule, waiting for its next time (the supervisor's status says
 * so; a SupervisedProcess itself is never in it).
 */
export type ProcessState = 'stopped' | 'starting' | 'running' | 'stopping' | 'backoff' | 'failed' | 'scheduled';

/** A scheduled entry's timer, as the status shows it. */
export interface ScheduleView {
  calendar: string;
  persistent: boolean;
  randomizedDelaySec: number;
  /** ISO time of the next run (its elapse plus the random delay). */
  nextRunAt: string | undefined;
  /** ISO time of the last elapse the timer ran (runs by hand are not counted). */
  lastTriggerAt: string | undefined;
}

/** What to run: resolved from the registry entry by the supervisor. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Open an IPC channel (services: readiness and parent-death detection). */
  ipc: boolean;
  /** Checked before each start; a message is a reason not to start (a port in use). */
  preflight?: () => Promise<string | undefined>;
  /** For http readiness. */
  readyUrl?: string;
  /** For heartbeat readiness: the service's current heartbeat, if any. */
  heartbeatOf?: (name: string) => Promise<{ pid: number; state: string } | undefined>;
}

/** dev mode's warm spare: the preloader waiting, and what it is to run. */
interface Standby { child: ChildProcess; spec: LaunchSpec; main: string; rest: string[] }

export interface Usage {
  rssBytes: number;
  cpuPct: number;
  tasks: number;
  gpuBytes?: number;
}

export interface ProcessStatus {
  name: string;
  kind: ServiceEntry['kind'];
  state: ProcessState;
  pid: number | undefined;
  critical: boolean;
  /** ISO time the current process was started. */
  startedAt: string | undefined;
  uptimeS: number | undefined;
  /** Spawn to ready of the current process, in ms. */
  readyMs: number | undefined;
  /** Times it was started again (by policy, a limit, or a person) since the supervisor began. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string; reason: string } | undefined;
  /** Meant to run: false once stopped by request (a person, or the supervisor stopping). */
  wanted: boolean;
  /** Writes DOLPHIN_HEARTBEAT[name]. */
  heartbeat: boolean;
  /** Its /metrics port on loopback (0: none). */
  metricsPort: number;
  usage: Usage | undefined;
  limits: ServiceEntry['limits'];
  /** Why it is failed or waiting, in words. */
  detail: string | undefined;
  nextStartInMs: number | undefined;
  logFile: string;
  /** Where it serves people (the dashboard, the jobs API), as it said over IPC once listening. */
  url: string | undefined;
  /** Present for an entry that runs at its schedule's times. */
  schedule?: ScheduleView;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One registry entry's process over its whole life: started in a process group of its own,
 * ready when its readiness says so, restarted with backoff when it exits, FAILED after its start
 * limit, stopped with SIGTERM to the group and SIGKILL after the stop timeout, so that no
 * grandchild outlives it. Emits `state` (to, from, detail) and `exit` (exit, reason).
 */
export class SupervisedProcess extends EventEmitter {
  readonly name: string;
  readonly entry: ServiceEntry;
  private readonly launch: () => LaunchSpec;
  private readonly logger: Logger;
  private readonly log: RotatingLog;
  private readonly tracker: RestartTracker;
  private child: ChildProcess | undefined;
  private pgid: number | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private stateValue: ProcessState = 'stopped';
  private detail: string | undefined;
  private startedAtMs: number | undefined;
  private readyMs: number | undefined;
  private urlValue: string | undefined;
  /** Arguments for the next start only (`--restart` after a snapshot was written). */
  private nextArgs: string[] = [];
  /** A loaded process waiting to be the next start (dev mode's reload). */
  private standby: Standby | undefined;
  private spare: Promise<Standby | undefined> | undefined;
  private preload: Array<{ spec: string; from: string }> | undefined;
  private stoppingForReload = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextStartAt: number | undefined;
  private restartsValue = 0;
  private lastExit: ProcessStatus['lastExit'];
  private usageValue: Usage | undefined;
  /** Set while a stop or a limit-driven restart is under way: the exit is ours, not the process's. */
  private expectedExit: string | undefined;
  private generation = 0;
  private wantedValue = true;

  constructor(name: string, entry: ServiceEntry, launch: () => LaunchSpec, options: { logDir: string; logMaxBytes: number; logKeep: number; logger: Logger }) {
    super();
    this.name = name;
    this.entry = entry;
    this.launch = launch;
    this.logger = options.logger.child({ svc: name });
    this.log = new RotatingLog(path.join(options.logDir, `${name}.log`), options.logMaxBytes, options.logKeep);
    this.tracker = new RestartTracker(entry.restart, entry.startLimit);
  }

  get state(): ProcessState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The process group's id while it runs (the pid of its leader). */
  get group(): number | undefined {
    return this.stateValue === 'stopped' || this.stateValue === 'failed' || this.stateValue === 'backoff' ? undefined : this.pgid;
  }

  get restarts(): number {
    return this.restartsValue;
  }

  /**
   * Resolves once it is ready, has failed, or has stopped for good: what a dependent waits for
   * before it starts (systemd's After= with Wants=: a failed dependency does not block the rest).
   */
  whenSettled(): Promise<void> {
    if (this.stateValue === 'running' || this.stateValue === 'failed') return Promise.resolve();
    return new Promise((resolve) => {
      const on = (to: ProcessState) => {
        if (to !== 'running' && to !== 'failed' && to !== 'stopped') return;
        this.off('state', on);
        resolve();
      };
      this.on('state', on);
    });
  }

  private setState(to: ProcessState, detail?: string): void {
    const from = this.stateValue;
    this.stateValue = to;
    this.detail = detail;
    if (from !== to || detail) this.emit('state', to, from, detail);
  }

  status(): ProcessStatus {
    const now = Date.now();
    return {
      name: this.name,
      kind: this.entry.kind,
      state: this.stateValue,
      pid: this.group !== undefined ? this.child?.pid : undefined,
      critical: this.entry.critical,
      startedAt: this.startedAtMs !== undefined && this.group !== undefined ? new Date(this.startedAtMs).toISOString() : undefined,
      uptimeS: this.startedAtMs !== undefined && this.stateValue === 'running' ? Math.round((now - this.startedAtMs) / 1000) : undefined,
      readyMs: this.stateValue === 'running' ? this.readyMs : undefined,
      restarts: this.restartsValue,
      lastExit: this.lastExit,
      wanted: this.wantedValue,
      heartbeat: this.entry.heartbeat,
      metricsPort: this.entry.metricsPort,
      usage: this.stateValue === 'running' || this.stateValue === 'starting' ? this.usageValue : undefined,
      limits: this.entry.limits,
      detail: this.detail,
      nextStartInMs: this.nextStartAt !== undefined ? Math.max(0, this.nextStartAt - now) : undefined,
      logFile: this.log.file,
      url: this.stateValue === 'running' || this.stateValue === 'starting' ? this.urlValue : undefined,
    };
  }

  /**
   * Starts the process (a person asking, or the first start): clears FAILED and the start
   * limit. Resolves once it is ready or has given up (check `state`).
   */
  async start(): Promise<void> {
    this.wantedValue = true;
    if (this.stateValue === 'starting' || this.stateValue === 'running' || this.stateValue === 'stopping') return;
    this.clearRestartTimer();
    this.tracker.reset();
    await this.spawnOnce();
  }

  /** Stops it (if running) and starts it again, as a person asks: the start limit starts over. */
  async restart(reason = 'restart requested'): Promise<void> {
    this.log.note(`restart: ${reason}`);
    this.logger.info({ reason }, 'restarting');
    await this.stop(reason);
    this.restartsValue += 1;
    await this.start();
  }

  /**
   * Restarts it as a fresh process that carries its working state: asks the running service for
   * its restart snapshot (IPC; it writes <stateDir>/<name>.restart.json), stops it (SIGTERM, the
   * group SIGKILLed after the stop timeout), starts it with `--restart`. Without a snapshot
   * (not running, no IPC, the service failed or did not answer in `snapshotTimeoutMs`) it is a
   * plain restart. Resolves once the new process is ready or has given up.
   */
  async reload(reason: string, snapshotTimeoutMs = 2_000): Promise<{ snapshot: 'written' | 'failed' | 'none' }> {
    const child = this.child;
    let snapshot: 'written' | 'failed' | 'none' = 'none';
    // A warm spare (third-party modules loaded, waiting) becomes the new process: loading them is
    // most of a start. It loads the project's files once told to go, after the edit.
    let standby = this.preload && this.stateValue === 'running' ? await (this.spare ?? this.spawnStandby()) : undefined;
    this.spare = undefined;
    if (standby && (standby.child.exitCode !== null || standby.child.signalCode !== null)) standby = undefined;
    if (this.stateValue === 'running' && child?.connected) {
      snapshot = await new Promise((resolve) => {
        const done = (v: 'written' | 'failed') => {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(v);
        };
        const onMessage = (m: { type?: string }) => {
          if (m?.type === 'snapshot-written') done('written');
          else if (m?.type === 'snapshot-failed') done('failed');
        };
        const timer = setTimeout(() => done('failed'), snapshotTimeoutMs);
        child.on('message', onMessage);
        try {
          child.send({ type: 'snapshot' });
        } catch {
          done('failed');
        }
      });
    }
    this.standby = standby;
    this.nextArgs = snapshot === 'written' ? ['--restart'] : [];
    this.stoppingForReload = true;
    try {
      await this.restart(reason);
    } finally {
      this.stoppingForReload = false;
      this.dropStandby(this.standby); // not taken by a start (it did not start)
      this.standby = undefined;
    }
    this.warmSpare();
    return { snapshot };
  }

  /**
   * Dev mode: keep a spare process with these modules loaded (bare specifiers, each resolved from
   * the file importing it) ready to become the next start.
   */
  enableSpare(preload: Array<{ spec: string; from: string }>): void {
    this.preload = preload;
    this.warmSpare();
  }

  private warmSpare(): void {
    if (!this.preload || this.spare || this.stateValue !== 'running' || this.entry.kind !== 'service' || this.entry.readiness.kind !== 'ipc') return;
    this.spare = this.spawnStandby();
  }

  private dropStandby(pre: { child: ChildProcess } | undefined): void {
    if (pre?.child.pid) try { process.kill(-pre.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }

  /** A process of the next start, loaded and waiting for `go`; undefined when it did not get there in time. */
  private async spawnStandby(timeoutMs = 10_000): Promise<Standby | undefined> {
    const spec = this.launch();
    // node [flags] <main> [args]: the spare runs the preloader in main's place and is told main at go.
    const at = spec.args.findIndex((a) => !a.startsWith('-'));
    if (at < 0) return undefined;
    const main = spec.args[at] as string;
    const rest = spec.args.slice(at + 1);
    const child = spawn(spec.command, [...spec.args.slice(0, at), '--experimental-import-meta-resolve', '--disable-warning=ExperimentalWarning', PRELOAD_SCRIPT], {
      env: { ...spec.env, DOLPHIN_PRELOAD: JSON.stringify(this.preload ?? []) }, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout?.on('data', (b: Buffer) => this.log.write(b));
    child.stderr?.on('data', (b: Buffer) => this.log.write(b));
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.on('message', (m: { type?: string }) => { if (m?.type === 'standby') { clearTimeout(timer); resolve(true); } });
      child.once('exit', () => { clearTimeout(timer); resolve(false); });
      child.once('error', () => { clearTimeout(timer); resolve(false); });
    });
    if (ok) return { child, spec, main, rest };
    this.dropStandby({ child });
    this.logger.warn(`${this.name}: the standby process did not load in time; starting it the usual way`);
    return undefined;
  }

  /** SIGTERM to the group, SIGKILL after the stop timeout; stays stopped. */
  async stop(reason = 'stop requested'): Promise<void> {
    this.wantedValue = false;
    if (!this.stoppingForReload) {
      this.dropStandby(this.standby);
      this.standby = undefined;
      void this.spare?.then((s) => this.dropStandby(s));
      this.spare = undefined;
    }
    this.clearRestartTimer();
    this.generation += 1; // a readiness wait in flight gives up
    if (this.child === undefined || this.exited === undefined || this.stateValue === 'stopped' || this.stateValue === 'failed' || this.stateValue === 'backoff') {
      this.setState(this.stateValue === 'failed' ? 'failed' : 'stopped', this.stateValue === 'failed' ? this.detail : undefined);
      return;
    }
    this.expectedExit = reason;
    this.setState('stopping', reason);
    const exit = await this.killGroup(this.entry.stopTimeoutMs);
    this.expectedExit = undefined;
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString(), reason };
    this.setState('stopped');
  }

  /** Latest resource sample from the supervisor's monitor; over a limit → restarted with the reason. */
  observe(usage: Usage): void {
    this.usageValue = usage;
    if (this.stateValue !== 'running') return;
    const { memoryMaxMb, tasksMax } = this.entry.limits;
    const mb = usage.rssBytes / 1024 / 1024;
    let over: string | undefined;
    if (mb > memoryMaxMb) over = `memory ${Math.round(mb)} MB over MemoryMax ${memoryMaxMb} MB`;
    else if (usage.tasks > tasksMax) over = `${usage.tasks} tasks over TasksMax ${tasksMax}`;
    if (over !== undefined) void this.limitRestart(over);
  }

  private async limitRestart(reason: string): Promise<void> {
    this.logger.warn({ reason }, `${this.name}: ${reason}; restarting it`);
    this.log.note(`over a limit: ${reason}; restarting`);
    this.expectedExit = reason;
    this.setState('stopping', reason);
    const exit = await this.killGroup(this.entry.stopTimeoutMs);
    this.expectedExit = undefined;
    this.afterExit(exit, reason, true);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.nextStartAt = undefined;
  }

  private async spawnOnce(): Promise<void> {
    const gen = ++this.generation;
    const pre = this.standby;
    this.standby = undefined;
    const spec = pre?.spec ?? this.launch();
    // A spare is told its arguments with `go`; a new process gets them on its command line.
    const extraArgs = this.nextArgs.splice(0);
    if (!pre) spec.args = [...spec.args, ...extraArgs];
    // Counted as a start even if the preflight refuses: a refusal repeated is a start loop too.
    const now = Date.now();
    this.tracker.recordStart(now);
    this.startedAtMs = now;
    const refusal = await spec.preflight?.();
    if (gen !== this.generation) return;
    if (refusal !== undefined) {
      this.dropStandby(pre);
      this.lastExit = { code: null, signal: null, at: new Date().toISOString(), reason: refusal };
      this.logger.error({ reason: refusal }, `${this.name} cannot start: ${refusal}`);
      this.log.note(`cannot start: ${refusal}`);
      this.afterExit({ code: 1, signal: null }, refusal);
      return;
    }
    this.usageValue = undefined;
    this.setState('starting');
    if (!existsSync(spec.command) && path.isAbsolute(spec.command)) {
      this.dropStandby(pre);
      this.afterExit({ code: 127, signal: null }, `${spec.command}: no such program`);
      return;
    }
    const child = pre?.child ?? spawn(spec.command, spec.args, {
      env: spec.env,
      detached: true, // its own process group: a stop reaches whatever it started
      stdio: spec.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.urlValue = undefined;
    this.pgid = child.pid;
    if (!pre) {
      child.stdout?.on('data', (b: Buffer) => this.log.write(b));
      child.stderr?.on('data', (b: Buffer) => this.log.write(b));
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => {
        this.log.note(`spawn failed: ${err.message}`);
        resolve({ code: 127, signal: null });
      });
    });
    const exited = this.exited;
    void exited.then((exit) => {
      if (gen !== this.generation || this.expectedExit !== undefined) return;
      void this.onUnexpectedExit(exit);
    });
    this.logger.info({ pid: child.pid, standby: pre !== undefined }, `${this.name} started`);
    const readyWait = this.waitReady(child, spec, exited, gen);
    if (pre) child.send({ type: 'go', main: pre.main, args: [...pre.rest, ...extraArgs] });
    const ready = await readyWait;
    if (gen !== this.generation || this.child !== child) return;
    if (ready === true) {
      this.readyMs = Date.now() - now;
      this.setState('running');
      return;
    }
    if (ready === 'exited') return; // onUnexpectedExit handles it
    // Not ready in time: counted as a failed start.
    const reason = `not ready within ${this.entry.readiness.timeoutMs} ms`;
    this.logger.warn({ reason }, `${this.name} ${reason}; stopping it`);
    this.expectedExit = reason;
    const exit = await this.killGroup(this.entry.stopTimeoutMs);
    this.expectedExit = undefined;
    this.afterExit(exit, reason, true);
  }

  private waitReady(child: ChildProcess, spec: LaunchSpec, exited: Promise<ExitInfo>, gen: number): Promise<true | false | 'exited'> {
    const { kind, timeoutMs } = this.entry.readiness;
    if (kind === 'none') return Promise.resolve(true);
    return new Promise((resolve) => {
      let done = false;
      const finish = (v: true | false | 'exited') => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      void exited.then(() => finish('exited'));
      if (kind === 'ipc') {
        child.on('message', (m: { type?: string; url?: unknown }) => {
          if (m?.type === 'listening' && typeof m.url === 'string') this.urlValue = m.url;
          if (m?.type === 'ready') finish(true);
        });
      } else if (kind === 'heartbeat') {
        const heartbeatOf = spec.heartbeatOf;
        if (!heartbeatOf) {
          this.logger.error(`${this.name}: heartbeat readiness needs the supervisor to read DOLPHIN_HEARTBEAT; it has no cluster connection`);
          return finish(false);
        }
        void (async () => {
          while (!done && gen === this.generation) {
            const hb = await heartbeatOf(this.name).catch(() => undefined);
            if (hb && hb.pid === child.pid && hb.state === 'running') return finish(true);
            await sleep(100);
          }
        })();
      } else {
        void (async () => {
          while (!done && gen === this.generation) {
            try {
              const res = await fetch(spec.readyUrl as string, { signal: AbortSignal.timeout(1_000) });
              await res.body?.cancel();
              if (res.status === 200) return finish(true);
            } catch { /* not yet */ }
            await sleep(50);
          }
        })();
      }
    });
  }

  private async onUnexpectedExit(exit: ExitInfo): Promise<void> {
    this.afterExit(exit, exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`);
    // The leader is gone; whatever it started in its group goes too.
    if (this.pgid !== undefined && groupAlive(this.pgid)) this.signalGroup('SIGKILL');
  }

  /** After any exit not asked for by a stop (`forced`: we ended it, over a limit or not ready): the restart policy decides. */
  private afterExit(exit: ExitInfo, reason: string, forced = false): void {
    const now = Date.now();
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date(now).toISOString(), reason };
    this.emit('exit', exit, reason);
    const verdict = this.tracker.onExit(exit, now, forced ? reason : undefined);
    if (!verdict.restart) {
      if (verdict.why === 'policy') {
        this.logger.info({ reason, policy: this.entry.restart.mode }, `${this.name} ${reason}; not restarted (${verdict.detail})`);
        this.setState('stopped', `${reason}; ${verdict.detail}`);
      } else {
        const detail = `${reason}; ${verdict.detail} — FAILED: restart it by hand (dolphin restart ${this.name}) once the cause is fixed`;
        this.logger.error({ reason, why: verdict.why }, `${this.name} FAILED: ${detail}`);
        this.log.note(`FAILED: ${detail}`);
        this.setState('failed', detail);
      }
      return;
    }
    this.nextStartAt = now + verdict.delayMs;
    this.log.note(`${reason}; restarting in ${verdict.delayMs} ms`);
    this.logger.warn({ reason, delayMs: verdict.delayMs, failures: this.tracker.consecutiveFailures }, `${this.name} ${reason}; restarting in ${verdict.delayMs} ms`);
    this.setState('backoff', `${reason}; restarting in ${verdict.delayMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.nextStartAt = undefined;
      this.restartsValue += 1;
      void this.spawnOnce();
    }, verdict.delayMs);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.pgid === undefined) return;
    try {
      process.kill(-this.pgid, signal);
    } catch { /* the group is gone */ }
  }

  /**
   * TERM to the group; KILL to the group when the leader, or anything else in the group, is
   * still there after `timeoutMs`. Resolves with the leader's exit once the group is empty.
   */
  private async killGroup(timeoutMs: number): Promise<ExitInfo> {
    const exited = this.exited ?? Promise.resolve({ code: null, signal: null });
    const deadline = Date.now() + timeoutMs;
    let leaderGone = false;
    void exited.then(() => { leaderGone = true; });
    this.signalGroup('SIGTERM');
    // As systemd does: a stopped (SIGSTOP) process cannot act on SIGTERM until it runs again.
    this.signalGroup('SIGCONT');
    while (Date.now() < deadline && !(leaderGone && !this.groupLives())) await sleep(20);
    if (!leaderGone || this.groupLives()) {
      this.logger.warn({ timeoutMs }, `${this.name} did not stop within ${timeoutMs} ms of SIGTERM; killing its process group`);
      this.log.note(`still running ${timeoutMs} ms after SIGTERM: SIGKILL to the process group`);
      this.signalGroup('SIGKILL');
    }
    const exit = await exited;
    for (let i = 0; i < 100 && this.groupLives(); i++) await sleep(20);
    return exit;
  }

  private groupLives(): boolean {
    return this.pgid !== undefined && groupAlive(this.pgid);
  }

  close(): void {
    this.clearRestartTimer();
    this.log.close();
  }
}
