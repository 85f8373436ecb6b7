import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Wait for an IPC `{type: 'ready'}` message (services under runService); otherwise ready at spawn. */
  waitReady: boolean;
  readyTimeoutMs?: number;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One child process of `dolphin up`: its own process group (a stop reaches its children too),
 * output appended to its log file, an IPC channel (the child stops when this process dies).
 */
export class ManagedChild {
  readonly spec: ChildSpec;
  private child: ChildProcess | undefined;
  exited: Promise<ChildExit> = Promise.resolve({ code: null, signal: null });

  constructor(spec: ChildSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const fd = openSync(this.spec.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, { env: this.spec.env, detached: true, stdio: ['ignore', fd, fd, 'ipc'] });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A spawn that fails (EAGAIN, ENOMEM, no such binary) reports here, not as a throw.
      child.once('error', (err) => {
        console.error(`dolphin: ${this.spec.name}: ${err.message}`);
        resolve({ code: 127, signal: null });
      });
    });
    if (!this.spec.waitReady) return;
    const timeoutMs = this.spec.readyTimeoutMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.spec.name} not ready within ${timeoutMs} ms; see ${this.spec.logFile}`)), timeoutMs);
      child.on('message', (m: { type?: string }) => {
        if (m?.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      void this.exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`${this.spec.name} exited (${e.code ?? e.signal}) before it was ready; see ${this.spec.logFile}`));
      });
    });
  }

  /** SIGTERM to the group, SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<ChildExit> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return this.exited;
    const group = (sig: NodeJS.Signals) => { try { process.kill(-(child.pid as number), sig); } catch { /* gone */ } };
    group('SIGTERM');
    const timer = setTimeout(() => group('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
