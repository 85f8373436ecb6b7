import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { z } from 'zod';
import { makeError, type Logger } from '@dolphin/core';
import { SupervisorErrors } from './errors.ts';
import type { Supervisor, SupervisorStatus } from './supervisor.ts';

/** Where a running supervisor says how to reach it: readable by its user only (it holds the token). */
export const runFileSchema = z.strictObject({
  pid: z.number().int().positive(),
  port: z.number().int().positive(),
  token: z.string().min(32),
  startedAt: z.string(),
  logDir: z.string(),
});
export type RunFile = z.infer<typeof runFileSchema>;

export function writeRunFile(file: string, run: RunFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(run), { mode: 0o600 });
  chmodSync(tmp, 0o600); // whatever the umask
  renameSync(tmp, file);
}

/** Removes the run file if it is this process's own. */
export function removeRunFile(file: string): void {
  try {
    if (runFileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).pid === process.pid) rmSync(file, { force: true });
  } catch { /* absent or not ours */ }
}

/** The run file of a supervisor that is still alive, or undefined. */
export function readRunFile(file: string): RunFile | undefined {
  let run: RunFile;
  try {
    run = runFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
  try {
    process.kill(run.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return run;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The supervisor's control endpoint, on 127.0.0.1 only, every request with `Authorization:
 * Bearer <token>` (the token is in the run file, mode 0600):
 *   GET  /v1/status                      every process: state, pid, uptime, restarts, usage, limits
 *   POST /v1/services/<name>/restart     stop (if running) and start; clears FAILED
 *   POST /v1/services/<name>/stop        stop and stay stopped
 *   POST /v1/services/<name>/start       start; clears FAILED
 *   POST /v1/shutdown                    stop everything (dependents first) and exit
 */
export async function serveControl(supervisor: Supervisor, options: { port: number; logger: Logger; onShutdown: () => void; token?: string }): Promise<{ port: number; token: string; close(): Promise<void> }> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) return send(res, 401, { error: 'missing or wrong bearer token (see the run file)' });
    // The path as sent, not parsed as a URL: `//x` or `http://[` must not throw in the process
    // that runs everything.
    const target = req.url ?? '/';
    const url = { pathname: target.split('?')[0] as string };
    if (!url.pathname.startsWith('/')) return send(res, 400, { error: `not a path: ${target.slice(0, 100)}` });
    if (req.method === 'GET' && url.pathname === '/v1/status') return send(res, 200, supervisor.status());
    if (req.method === 'POST' && url.pathname === '/v1/shutdown') {
      send(res, 202, { stopping: true });
      options.onShutdown();
      return;
    }
    const m = /^\/v1\/services\/([a-z][a-z0-9-]*)\/(restart|stop|start)$/.exec(url.pathname);
    if (req.method === 'POST' && m) {
      const p = supervisor.get(m[1] as string);
      if (!p) return send(res, 404, { error: `no service "${m[1]}"; there are: ${supervisor.processes.map((x) => x.name).join(', ')}` });
      if (supervisor.isStopping) return send(res, 409, { error: 'the supervisor is stopping' });
      const action = m[2] as 'restart' | 'stop' | 'start';
      options.logger.info({ svc: p.name, action, by: 'control endpoint' }, `${action} ${p.name} requested`);
      const work = action === 'restart' ? p.restart(`requested through the control endpoint`) : action === 'stop' ? p.stop('stopped through the control endpoint') : p.start();
      // Answer at once: a restart waits for readiness, which may take a while; status shows the rest.
      void work.catch((err: unknown) => options.logger.error({ err, svc: p.name, action }, `${action} failed`));
      return send(res, 202, { service: p.name, action, state: p.state });
    }
    return send(res, 404, { error: `no such endpoint: ${req.method} ${url.pathname.slice(0, 100)}` });
  };
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      options.logger.error({ err, url: req.url?.slice(0, 200) }, 'control request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the supervisor log)' });
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    token,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Talks to a running supervisor through its run file. */
export class ControlClient {
  readonly run: RunFile;
  private readonly timeoutMs: number;

  constructor(run: RunFile, timeoutMs = 2_000) {
    this.run = run;
    this.timeoutMs = timeoutMs;
  }

  /** The client of the supervisor whose run file is `file`, or undefined when none runs. */
  static fromRunFile(file: string, timeoutMs?: number): ControlClient | undefined {
    const run = readRunFile(file);
    return run ? new ControlClient(run, timeoutMs) : undefined;
  }

  private async call<T>(method: 'GET' | 'POST', route: string): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${this.run.port}${route}`, {
        method,
        headers: { authorization: `Bearer ${this.run.token}` },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_NOT_RUNNING, `the supervisor (pid ${this.run.pid}) does not answer on 127.0.0.1:${this.run.port}`, { cause });
    }
    return { status: res.status, body: (await res.json()) as T };
  }

  async status(): Promise<SupervisorStatus> {
    const r = await this.call<SupervisorStatus & { error?: string }>('GET', '/v1/status');
    if (r.status !== 200) throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_REFUSED, `supervisor status: HTTP ${r.status} ${r.body.error ?? ''}`.trim());
    return r.body;
  }

  /** Asks for restart/stop/start of one service; resolves with the supervisor's answer. */
  async act(name: string, action: 'restart' | 'stop' | 'start'): Promise<{ status: number; body: { error?: string; state?: string } }> {
    return this.call('POST', `/v1/services/${encodeURIComponent(name)}/${action}`);
  }

  async shutdown(): Promise<void> {
    await this.call('POST', '/v1/shutdown');
  }
}
