import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '@dolphin/hz';
import { SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { spawnCollecting, waitFor, type SpawnedProcess } from '@dolphin/test-support';

// systemd's side faked by a real Unix datagram socket: what a unit of type notify with
// WatchdogSec would receive from meta-health, here with no cluster at all to talk to.

const spawned: SpawnedProcess[] = [];
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
});

describe('meta-health under systemd', () => {
  it('says READY=1, pets the watchdog every cycle, and writes meta_health.json while Hazelcast is away', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-notify-'));
    const socket = path.join(dir, 'notify');
    const listener = spawnCollecting('python3', [path.join(REPO_ROOT, 'test/clients/notify_socket.py'), socket], { PATH: process.env.PATH });
    spawned.push(listener);
    await waitFor(() => listener.text.includes('listening'), 'the notify socket');
    const stateDir = path.join(dir, 'state');
    const nobody = await freePort(); // a member port nothing listens on
    const mh = spawnCollecting(process.execPath, [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, 'services/meta-health/src/main.ts')], {
      PATH: process.env.PATH, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '1000000', DOLPHIN_CONFIG_DIR: dir, DOLPHIN_STATE_DIR: stateDir,
      HZ_MEMBERS: `127.0.0.1:${nobody}`, DOLPHIN__member__port: String(nobody), DOLPHIN__metaHealth__cycleMs: '200', DOLPHIN__metaHealth__recoveryVia: '"none"',
      // With no cluster it judges once its warm-up has passed without inputs.
      DOLPHIN__metaHealth__warmUpMs: '1000',
    });
    spawned.push(mh);
    await waitFor(() => listener.text.some((l) => l.startsWith('READY=1')), 'READY=1', 30_000);
    await waitFor(() => listener.text.filter((l) => l === 'WATCHDOG=1').length >= 3, 'three watchdog pets', 15_000);
    await waitFor(() => existsSync(path.join(stateDir, 'meta_health.json')), 'meta_health.json after the warm-up', 15_000);
    const health = JSON.parse(readFileSync(path.join(stateDir, 'meta_health.json'), 'utf8')) as { status: string; m4_control_plane: number; hazelcast: boolean };
    expect(health).toMatchObject({ hazelcast: false, m4_control_plane: 0, status: 'DEAD' });
    process.kill(mh.child.pid as number, 'SIGTERM');
    expect((await mh.exited).code).toBe(0);
    await waitFor(() => listener.text.includes('STOPPING=1'), 'STOPPING=1');
  });
});
