import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, MapNames, MetaHealthFiles, traderStateSchema } from '@dolphin/core';
import { connect, freePort, openMap, REPO_ROOT, type HzConnection } from '@dolphin/hz';
import { hazelcastSettings, startTestSupervisor, testLogger, waitFor, type TestSupervisor } from '@dolphin/test-support';

// The member under the supervisor, as `dolphin up` runs it. It hangs (SIGSTOP: the process is
// there, nothing answers); meta-health sees the control plane fall and has the supervisor
// restart it; the services reconnect by themselves and trading goes on.

let sup: TestSupervisor;
let conn: HzConnection;
let port: number;
const clusterName = `dolphin-recovery-${process.pid}`;

type HealthFile = { m4_control_plane: number; hazelcast: boolean; timestamp: string; recovery: { recent: Array<{ target: string; reason: string; detail: string }> } };
const healthFile = (): HealthFile | undefined => {
  try {
    return JSON.parse(readFileSync(path.join(sup.stateDir, MetaHealthFiles.LATEST), 'utf8')) as HealthFile;
  } catch {
    return undefined;
  }
};

beforeAll(async () => {
  port = await freePort();
  const scans = mkdtempSync(path.join(os.tmpdir(), 'dolphin-rm-scans-'));
  const members = `127.0.0.1:${port}`;
  sup = await startTestSupervisor({
    member: { kind: 'member', critical: true, heartbeat: false, readiness: { kind: 'http', timeoutMs: 60_000 }, limits: { memoryMaxMb: 900, tasksMax: 256, cpuQuotaPct: 100 } },
    'scan-bridge': { critical: true, dependsOn: ['member'] },
    'event-trader': { critical: true, dependsOn: ['member'] },
    'meta-health': { dependsOn: ['member'] },
    producer: {
      kind: 'command', command: [process.execPath, path.join(REPO_ROOT, 'cli/src/main.ts'), 'produce', '--rate', '2', '--dir', scans],
      readiness: { kind: 'none' }, heartbeat: false, dependsOn: ['scan-bridge'],
    },
  }, {
    config: { member: { port, heapMb: 256 }, hazelcast: { clusterName, members: [members] } },
    env: {
      HZ_MEMBERS: members, HZ_CLUSTER_NAME: clusterName, DOLPHIN__member__port: String(port), DOLPHIN__scans__dir: JSON.stringify(scans),
      DOLPHIN__metaHealth__cycleMs: '250', DOLPHIN__metaHealth__memberDownAfterMs: '2000', DOLPHIN__metaHealth__recoveryVia: '"supervisor"',
    },
  });
  await sup.supervisor.startAll();
  conn = await connect({ settings: hazelcastSettings(clusterName, [members]), logger: testLogger('test-client'), firstConnectTimeoutMs: 30_000 });
});

afterAll(async () => {
  await conn?.shutdown();
  await sup?.stop();
});

describe('recovery of a hung member', () => {
  it('M4 falls, meta-health has the member restarted, the services reconnect and trade on', async () => {
    const state = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
    const before = await waitFor(() => state.get(Keys.STATE_LATEST), 'the trader deciding scans', 60_000);
    await waitFor(() => healthFile()?.m4_control_plane === 1, 'M4 up', 20_000);
    const memberProc = sup.supervisor.get('member')!;
    const hung = memberProc.pid!;
    process.kill(hung, 'SIGSTOP');
    try {
      await waitFor(() => healthFile()?.m4_control_plane === 0, 'M4 down', 20_000);
      await waitFor(() => memberProc.pid !== hung && memberProc.state === 'running', 'the member restarted', 60_000);
    } finally {
      try { process.kill(hung, 'SIGCONT'); } catch { /* gone, as it should be */ }
    }
    const recent = healthFile()?.recovery.recent ?? [];
    expect(recent.some((a) => a.target === 'member' && a.reason === 'member-down')).toBe(true);
    expect(memberProc.restarts).toBe(1);
    // The member came back empty; the bridge and the trader reconnected by themselves.
    const after = await waitFor(async () => {
      const s = await state.get(Keys.STATE_LATEST).catch(() => undefined);
      return s && s.updated_at > before.updated_at && s;
    }, 'the trader deciding new scans after the restart', 60_000);
    expect(after.last_scan_number).toBeGreaterThan(0);
    expect(sup.supervisor.get('scan-bridge')!.restarts).toBe(0);
    expect(sup.supervisor.get('event-trader')!.restarts).toBe(0);
    await waitFor(() => healthFile()?.m4_control_plane === 1, 'M4 up again', 30_000);
  });
});
