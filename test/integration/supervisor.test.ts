import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MapNames } from '@dolphin/core';
import { REPO_ROOT } from '@dolphin/hz';
import { SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { ControlClient, readAllStats } from '@dolphin/supervisor';
import { startTestMember, startTestSupervisor, waitFor, type TestSupervisor } from '@dolphin/test-support';

const running: TestSupervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

const fixture = (name: string) => path.join(REPO_ROOT, 'test/fixtures', `${name}.ts`);
const scratch = (name: string) => path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-fx-')), name);
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
const alive = (pid: number) => readAllStats().some((s) => s.pid === pid);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(registry: Record<string, unknown>, config?: Record<string, unknown>): Promise<TestSupervisor> {
  const s = await startTestSupervisor(registry, config ? { config } : {});
  running.push(s);
  return s;
}

describe('supervisor', () => {
  it('a process that crashes at start is restarted with backoff, then FAILED after its burst: no storm', async () => {
    const starts = scratch('starts');
    const { supervisor } = await start({
      crasher: {
        kind: 'command', command: [process.execPath, fixture('crash-at-start'), starts], readiness: { kind: 'none' },
        restart: { initialMs: 100, multiplier: 2, maxMs: 5_000 }, startLimit: { burst: 5, intervalMs: 60_000 },
      },
    });
    const t0 = Date.now();
    void supervisor.startAll();
    const p = supervisor.get('crasher')!;
    await waitFor(() => p.state === 'failed', 'FAILED', 20_000);
    const failedAfter = Date.now() - t0;
    expect(lines(starts)).toHaveLength(5);
    // Backoff 100, 200, 400, 800 ms between the five starts: at least 1.5 s in all.
    expect(failedAfter).toBeGreaterThanOrEqual(1_500);
    expect(p.status().detail).toMatch(/5 starts within 60 s — FAILED: restart it by hand \(dolphin restart crasher\)/);
    await sleep(2_000);
    expect(lines(starts)).toHaveLength(5); // and nothing more: FAILED waits for a person
    // A person restarts it: the start limit starts over.
    await p.start();
    await waitFor(() => p.state === 'failed' && lines(starts).length === 10, 'FAILED again after five more', 20_000);
  });

  it('a critical process killed again and again comes back within its small cap each time; the start limit still ends the burst', async () => {
    const { supervisor } = await start({
      keeper: { kind: 'command', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], readiness: { kind: 'none' }, critical: true, stopTimeoutMs: 500 },
    });
    await supervisor.startAll();
    const p = supervisor.get('keeper')!;
    const reported: Array<{ said: number; nextStartInMs: number | undefined }> = [];
    supervisor.on('state', (name: string, to: string, _from: string, detail?: string) => {
      if (name !== 'keeper' || to !== 'backoff') return;
      reported.push({ said: Number(/restarting in (\d+) ms/.exec(detail ?? '')?.[1]), nextStartInMs: p.status().nextStartInMs });
    });
    // A fresh start and four kills in a row: the five starts the default limit allows in 60 s.
    for (let i = 1; i <= 4; i++) {
      const pid = p.pid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(() => p.state === 'running' && p.pid !== pid, `back after kill ${i}`, 10_000);
    }
    // Doubling from 100 ms, capped at a critical entry's 250 ms (the old policy waited 400, then 800).
    expect(reported.map((r) => r.said)).toEqual([100, 200, 250, 250]);
    for (const r of reported) expect(r.nextStartInMs).toBeLessThanOrEqual(250);
    expect(p.restarts).toBe(4);
    // A fifth kill within the minute is a sixth start: FAILED, as for any process.
    process.kill(p.pid!, 'SIGKILL');
    await waitFor(() => p.state === 'failed', 'FAILED after the burst', 10_000);
    expect(p.status().detail).toMatch(/5 starts within 60 s — FAILED/);
  });

  it('restarts a process that grows past MemoryMax, and says why', async () => {
    const starts = scratch('starts');
    const { supervisor } = await start({
      hog: {
        kind: 'command', command: [process.execPath, fixture('memory-hog'), starts], readiness: { kind: 'none' },
        limits: { memoryMaxMb: 150, tasksMax: 64, cpuQuotaPct: 100 }, restart: { initialMs: 100 }, stopTimeoutMs: 2_000,
      },
    });
    const reasons: string[] = [];
    supervisor.on('exit', (_name: string, _exit: unknown, reason: string) => reasons.push(reason));
    await supervisor.startAll();
    await waitFor(() => lines(starts).length >= 2, 'a second start', 30_000);
    expect(reasons[0]).toMatch(/^memory \d+ MB over MemoryMax 150 MB$/);
    const first = Number(lines(starts)[0]);
    expect(alive(first)).toBe(false);
  });

  it('kills a child that ignores SIGTERM, and its grandchild, after the stop timeout', async () => {
    const pids = scratch('pids');
    const { supervisor } = await start({
      stubborn: { kind: 'command', command: [process.execPath, fixture('stubborn'), pids], readiness: { kind: 'ipc' }, stopTimeoutMs: 1_000 },
    });
    await supervisor.startAll();
    const p = supervisor.get('stubborn')!;
    expect(p.state).toBe('running');
    const { child, grandchild } = JSON.parse(readFileSync(pids, 'utf8')) as { child: number; grandchild: number };
    expect(alive(child) && alive(grandchild)).toBe(true);
    const t0 = Date.now();
    await p.stop('test');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000); // it had its timeout to go by itself
    expect(alive(child)).toBe(false);
    expect(alive(grandchild)).toBe(false);
    expect(p.state).toBe('stopped');
  });

  it('starts in dependency order, waiting for readiness; the control endpoint needs its token', async () => {
    const s = await start({
      first: { kind: 'command', command: [process.execPath, fixture('stubborn'), scratch('a')], readiness: { kind: 'ipc' }, stopTimeoutMs: 500 },
      second: { kind: 'command', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], readiness: { kind: 'none' }, dependsOn: ['first'], stopTimeoutMs: 500 },
    });
    const order: string[] = [];
    s.supervisor.on('state', (name: string, to: string) => { if (to === 'starting' || to === 'running') order.push(`${name}:${to}`); });
    await s.supervisor.startAll();
    expect(order).toEqual(['first:starting', 'first:running', 'second:starting', 'second:running']);

    const client = ControlClient.fromRunFile(s.runFile)!;
    const status = await waitFor(async () => { const x = await client.status(); return x.services[0]?.usage && x; }, 'a resource sample');
    expect(status.services.map((p) => [p.name, p.state])).toEqual([['first', 'running'], ['second', 'running']]);
    expect(status.services[0]?.usage?.tasks).toBeGreaterThan(2); // node's threads, and the grandchild's
    expect(status.services[0]?.usage?.rssBytes).toBeGreaterThan(20 << 20);
    const anonymous = await fetch(`http://127.0.0.1:${client.run.port}/v1/status`);
    expect(anonymous.status).toBe(401);
    const unknown = await client.act('nope', 'restart');
    expect(unknown.status).toBe(404);
    // Odd request targets, with the token: answered, and the supervisor still serves.
    for (const target of ['//', 'http://[', '//v1/status?x']) {
      const answer = await rawRequest(client.run.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${client.run.token}\r\nConnection: close\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 (400|404) /);
    }
    expect((await client.status()).services).toHaveLength(2);
    const before = s.supervisor.get('second')!.pid;
    expect((await client.act('second', 'restart')).status).toBe(202);
    await waitFor(() => s.supervisor.get('second')!.state === 'running' && s.supervisor.get('second')!.pid !== before, 'second restarted');
    expect(s.supervisor.get('second')!.restarts).toBe(1);
  });

  it('a service run without an IPC channel is ready once its heartbeat says running, with its pid', async () => {
    const member = await startTestMember();
    try {
      const beats = await (await member.client()).client.getMap<string, string>(MapNames.HEARTBEAT);
      const asked: string[] = [];
      const s = await startTestSupervisor({
        safety: { kind: 'command', command: [process.execPath, ...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, 'services/safety/src/main.ts')], readiness: { kind: 'heartbeat', timeoutMs: 60_000 } },
      }, {
        env: { HZ_MEMBERS: member.members.join(','), HZ_CLUSTER_NAME: member.clusterName },
        heartbeatOf: async (name) => {
          asked.push(name);
          const text = await beats.get(name);
          return text ? (JSON.parse(text) as { pid: number; state: string }) : undefined;
        },
      });
      running.push(s);
      await s.supervisor.startAll();
      const p = s.supervisor.get('safety')!;
      expect(p.state).toBe('running');
      expect(JSON.parse((await beats.get('safety')) as string)).toMatchObject({ pid: p.pid, state: 'running' });
      expect(asked.length).toBeGreaterThan(1); // it was asked until the heartbeat came
    } finally {
      await Promise.all(running.splice(0).map((x) => x.stop()));
      await member.stop();
    }
  });
});

/** One raw HTTP request over a socket (to send what fetch will not), and the answer's text. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.end(text));
    let got = '';
    sock.on('data', (b: Buffer) => { got += b.toString('latin1'); });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}
