import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isDolphinError } from '@dolphin/core';
import { freePort, memberHealth, REPO_ROOT, startMember, type MemberHandle } from '@dolphin/hz';
import { isLoopbackOrUnbound, spawnCollecting, tcpSocketsOf, testLogger, waitFor, type SpawnedProcess } from '@dolphin/test-support';

const started: MemberHandle[] = [];
const spawned: SpawnedProcess[] = [];
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
  await Promise.all(started.splice(0).map((m) => m.stop(10_000)));
});

/** Gone, or a zombie waiting for a reaper: either way no longer running. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('member launcher', () => {
  it('starts a member that answers its health check on loopback and stops it cleanly', async () => {
    const port = await freePort();
    const m = await startMember({ port, clusterName: 'launcher-test', heapMb: 256, logger: testLogger() });
    started.push(m);
    const health = await memberHealth(m.address);
    expect(health).toMatchObject({ nodeState: 'ACTIVE', clusterSize: 1 });
    expect(m.rssBytes()).toBeGreaterThan(10 * 1024 * 1024);
    expect(m.tail()).toMatch(/\[launcher-test\] \[5\.\d+\.\d+\]/);
    // The member's log reaches the pipe a moment after its health check answers: wait for the line.
    const startedLine = new RegExp(`\\[127\\.0\\.0\\.1\\]:${port} is STARTED`);
    await waitFor(() => startedLine.test(m.tail()), 'the member to log that it is STARTED', 10_000);
    // Loopback only: every socket the JVM holds is bound to, and talks to, 127.0.0.0/8.
    const sockets = tcpSocketsOf(m.pid);
    expect(sockets.some((s) => s.state === 'LISTEN' && s.local === `127.0.0.1:${port}`)).toBe(true);
    for (const s of sockets) {
      expect(isLoopbackOrUnbound(s.local), `local ${s.local}`).toBe(true);
      expect(isLoopbackOrUnbound(s.remote), `remote ${s.remote}`).toBe(true);
    }
    const exit = await m.stop(15_000);
    expect(exit.code === 0 || exit.code === 143 || exit.signal === 'SIGTERM').toBe(true);
    expect(running(m.pid)).toBe(false);
  });

  it('leaves no JVM behind when the process that started it is killed with SIGKILL', async () => {
    const port = await freePort();
    const parent = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'test/fixtures/member-parent.ts')], {
      PATH: process.env.PATH, FIXTURE_PORT: String(port),
    });
    spawned.push(parent);
    const line = await parent.waitForLog((l) => typeof l.memberPid === 'number', 'the member pid', 90_000);
    const jvm = line.memberPid as number;
    expect(running(jvm)).toBe(true);
    process.kill(parent.child.pid as number, 'SIGKILL');
    await parent.exited;
    await waitFor(() => !running(jvm), `JVM ${jvm} to exit after its parent died`, 30_000, 100);
    expect(await memberHealth(`127.0.0.1:${port}`, 500)).toBeUndefined();
  });

  it('refuses a port that is already taken, naming it', async () => {
    const port = await freePort();
    const m = await startMember({ port, clusterName: 'launcher-a', heapMb: 256 });
    started.push(m);
    await expect(startMember({ port, clusterName: 'launcher-b', heapMb: 256 }))
      .rejects.toSatisfy((e) => isDolphinError(e, 'DOLPHIN_HZ_PORT_IN_USE') && (e as Error).message.includes(`127.0.0.1:${port}`));
  });

  it('a member that cannot start fails fast with its last output in the error', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-badxml-'));
    const bad = path.join(dir, 'bad.xml');
    writeFileSync(bad, '<hazelcast><network><port>not-a-port</port></network></hazelcast>');
    const port = await freePort();
    const err = await startMember({ port, configFile: bad, heapMb: 256 }).catch((e: unknown) => e);
    expect(isDolphinError(err, 'DOLPHIN_HZ_MEMBER_EXITED')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`member on port ${port} exited .* last output:\\n`, 's'));
  });
});
