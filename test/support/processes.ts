import { spawn, type ChildProcess } from 'node:child_process';

export interface LineRecord {
  [k: string]: unknown;
}

export interface SpawnedProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far (non-JSON lines land in `text`). */
  readonly logs: LineRecord[];
  readonly text: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(pred: (l: LineRecord) => boolean, what: string, timeoutMs?: number): Promise<LineRecord>;
  /** Kills the process group if it is still running (test cleanup). */
  cleanup(): Promise<void>;
}

/** Spawns a process in its own group, collecting its stdout/stderr JSON lines. */
export function spawnCollecting(cmd: string, args: string[], env: NodeJS.ProcessEnv, options: { ipc?: boolean } = {}): SpawnedProcess {
  const child = spawn(cmd, args, {
    env,
    detached: true,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const logs: LineRecord[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const take = (chunkBuf: Buffer, carry: { rest: string }) => {
    const all = carry.rest + chunkBuf.toString('utf8');
    const lines = all.split('\n');
    carry.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LineRecord);
      } catch {
        text.push(line);
      }
    }
    for (const w of waiters) w();
  };
  const outCarry = { rest: '' };
  const errCarry = { rest: '' };
  child.stdout?.on('data', (b: Buffer) => take(b, outCarry));
  child.stderr?.on('data', (b: Buffer) => take(b, errCarry));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    });
  });
  return {
    child, logs, text, exited,
    waitForLog(pred, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`process exited before logging ${what}; output:\n${[...text, ...logs.map((l) => JSON.stringify(l))].join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await exited;
      }
    },
  };
}
