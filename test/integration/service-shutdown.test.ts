import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MapNames, heartbeatSchema } from '@dolphin/core';
import { openMap, REPO_ROOT, type HzConnection } from '@dolphin/hz';
import { isLoopbackOrUnbound, startTestMember, spawnCollecting, tcpSocketsOf, waitFor, type SpawnedProcess, type TestMember } from '@dolphin/test-support';

const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/ordered-service.ts');
let member: TestMember;
let conn: HzConnection;
const spawned: SpawnedProcess[] = [];

beforeAll(async () => {
  member = await startTestMember();
  conn = await member.client();
});
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
});
afterAll(async () => {
  await member?.stop();
});

function startFixture(env: Record<string, string> = {}, args: string[] = []): SpawnedProcess {
  const p = spawnCollecting(process.execPath, [FIXTURE, ...args], {
    PATH: process.env.PATH,
    HZ_MEMBERS: member.members.join(','),
    HZ_CLUSTER_NAME: member.clusterName,
    DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-cfg-')),
    DOLPHIN_LOG_LEVEL: 'info',
    DOLPHIN__heartbeat__intervalMs: '200',
    ...env,
  }, { ipc: true });
  spawned.push(p);
  return p;
}

const closeOrder = (p: SpawnedProcess) =>
  p.logs.filter((l) => typeof l.component === 'string' && /^component (closed|".*" did not close)/.test(String(l.msg)))
    .map((l) => `${String(l.component)}:${String(l.msg) === 'component closed' ? 'closed' : 'abandoned'}`);

describe('runService', () => {
  it('says ready over IPC and in its heartbeat, then on SIGTERM closes in reverse order, abandons the hung component after its timeout, exits 0', async () => {
    const p = startFixture();
    const ready = new Promise<unknown>((resolve) => p.child.once('message', resolve));
    expect(await ready).toMatchObject({ type: 'ready', service: 'ordered-fixture' });
    const heartbeats = await openMap(conn, MapNames.HEARTBEAT, heartbeatSchema);
    const running = await waitFor(async () => {
      const hb = await heartbeats.get('ordered-fixture');
      return hb?.state === 'running' ? hb : undefined;
    }, 'heartbeat state running');
    expect(running.pid).toBe(p.child.pid);
    // The service talks to loopback only.
    const sockets = tcpSocketsOf(p.child.pid as number);
    expect(sockets.length).toBeGreaterThan(0);
    for (const s of sockets) expect(isLoopbackOrUnbound(s.remote) && isLoopbackOrUnbound(s.local), `${s.local} → ${s.remote}`).toBe(true);

    process.kill(p.child.pid as number, 'SIGTERM');
    const exit = await p.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(closeOrder(p)).toEqual(['last:closed', 'hangs:abandoned', 'first:closed', 'heartbeat:closed', 'hazelcast:closed']);
    const abandoned = p.logs.find((l) => l.component === 'hangs');
    expect(abandoned?.timeoutMs).toBe(300);
    expect(abandoned?.msg).toMatch(/did not close within 300 ms; abandoned/);
    // The last heartbeat, written before the client closed, says stopped.
    expect((await heartbeats.get('ordered-fixture'))?.state).toBe('stopped');
    const transitions = p.logs.filter((l) => typeof l.to === 'string').map((l) => l.to);
    expect(transitions).toEqual(['starting', 'running', 'stopping', 'stopped']);
  });

  it('writes a restart snapshot when asked over IPC and a process started with --restart restores it', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-state-'));
    const first = startFixture({ DOLPHIN_STATE_DIR: stateDir, FIXTURE_COUNTER: '41' });
    await new Promise((resolve) => first.child.once('message', resolve)); // ready
    const written = new Promise<{ type: string; file: string }>((resolve) => first.child.once('message', resolve));
    first.child.send({ type: 'snapshot' });
    expect(await written).toMatchObject({ type: 'snapshot-written', file: path.join(stateDir, 'ordered-fixture.restart.json') });
    process.kill(first.child.pid as number, 'SIGTERM');
    await first.exited;

    const second = startFixture({ DOLPHIN_STATE_DIR: stateDir, FIXTURE_COUNTER: '0' }, ['--restart']);
    await second.waitForLog((l) => l.msg === 'fixture counter', 'the counter line');
    expect(second.logs.find((l) => l.msg === 'state restored')?.state).toBe('counter');
    // Restored at registration, before the service logs its counter.
    expect(second.logs.find((l) => l.msg === 'fixture counter')?.counter).toBe(41);
  });

  it('an unhandled rejection is logged with its reason and ends the process with code 1', async () => {
    const p = startFixture({ FIXTURE_MODE: 'reject' });
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    const fatal = p.logs.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/unhandled rejection/);
    expect(JSON.stringify(fatal?.err)).toMatch(/fixture rejection nobody handles/);
  });

  it('a bad config value stops the start with the field named and exit code 78', async () => {
    const p = startFixture({ DOLPHIN__member__port: '70000', DOLPHIN__hazelcast__members: '["nowhere"]' });
    const exit = await p.exited;
    expect(exit.code).toBe(78);
    const fatal = p.logs.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/member\.port: .*\(from environment\)/);
    expect(fatal?.msg).toMatch(/hazelcast\.members\.0: must be host:port/);
    expect(fatal?.code).toBe('DOLPHIN_CONFIG_INVALID');
  });
});
