import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esofSchema, exfSchema, isoMicros, Keys, MapNames, metaHealthSchema, MetaHealthFiles, obFeaturesSchema, sampleEsof, sampleExf, sampleObFeatures, type MetaHealth } from '@dolphin/core';
import { openMap, REPO_ROOT, watchMap, type HzConnection, type Watch } from '@dolphin/hz';
import { startTestMember, startTestSupervisor, testSeal, waitFor, type TestMember, type TestSupervisor } from '@dolphin/test-support';

// Meta-health against real processes under a real supervisor, on a real member: the trading
// path (safety, bridge, trader, a producer), meta-health itself, and indicator values the test
// writes, so it can make one stale.

type Health = MetaHealth & { recovery: { spent: string[]; recent: Array<{ target: string; reason: string }> } };

let member: TestMember;
let conn: HzConnection;
let sup: TestSupervisor;
let watch: Watch;
let feeds: NodeJS.Timeout;
let exfAgeMs = 0;
const seen: Health[] = [];

const FROZEN_AFTER_MS = 3_000;
const latest = () => seen.at(-1);
const service = (name: string) => sup.supervisor.get(name)!;

beforeAll(async () => {
  member = await startTestMember();
  // What the test writes is sealed with the key the services are given: theirs to believe.
  const { keyFile, seal } = testSeal(mkdtempSync(path.join(os.tmpdir(), 'dolphin-key-')));
  conn = await member.client(undefined, { seal });
  // The indicator feeds, fresh every second (exf as old as exfAgeMs says).
  const exf = await openMap(conn, MapNames.FEATURES, exfSchema);
  const ob = await openMap(conn, MapNames.FEATURES, obFeaturesSchema);
  const esof = await openMap(conn, MapNames.FEATURES, esofSchema);
  const push = async () => {
    const now = isoMicros();
    await Promise.all([
      exf.set(Keys.EXF_LATEST, { ...sampleExf, fear_greed: 60, funding_btc: 0.0001, dvol_btc: 40, taker_ratio: 1.1, _pushed_at: isoMicros((Date.now() - exfAgeMs) * 1e6) }),
      ob.set(Keys.OB_FEATURES_LATEST, { ...sampleObFeatures, _pushed_at: now } as typeof sampleObFeatures),
      esof.set(Keys.ESOF_LATEST, { ...sampleEsof, _pushed_at: now }),
    ]);
  };
  await push();
  feeds = setInterval(() => void push().catch(() => undefined), 1_000);

  const scans = mkdtempSync(path.join(os.tmpdir(), 'dolphin-mh-scans-'));
  const env = {
    HZ_MEMBERS: member.members.join(','), HZ_CLUSTER_NAME: member.clusterName, DOLPHIN__scans__dir: JSON.stringify(scans), DOLPHIN__security__keyFile: keyFile,
    DOLPHIN__metaHealth__cycleMs: '250', DOLPHIN__metaHealth__frozenAfterMs: String(FROZEN_AFTER_MS), DOLPHIN__metaHealth__recoveryVia: '"supervisor"',
    DOLPHIN__metaHealth__budget__max: '2', DOLPHIN__metaHealth__backoff__initialMs: '500', DOLPHIN__heartbeat__intervalMs: '500',
  };
  sup = await startTestSupervisor({
    safety: { critical: true },
    'scan-bridge': { critical: true },
    'event-trader': { critical: true, dependsOn: ['safety'] },
    'meta-health': { dependsOn: ['event-trader'] },
    producer: {
      kind: 'command', command: [process.execPath, path.join(REPO_ROOT, 'cli/src/main.ts'), 'produce', '--rate', '2', '--dir', scans],
      readiness: { kind: 'none' }, heartbeat: false, dependsOn: ['scan-bridge'],
    },
  }, { env });
  await sup.supervisor.startAll();
  const map = await openMap(conn, MapNames.META_HEALTH, metaHealthSchema);
  watch = watchMap(conn, map, { key: Keys.META_HEALTH_LATEST, onUpdate: (u) => seen.push(u.value as Health) });
  await watch.ready;
});

afterAll(async () => {
  clearInterval(feeds);
  await watch?.close();
  await sup?.stop();
  await member?.stop();
});

const untilStatus = (status: string, what: string, timeoutMs = 40_000) => waitFor(() => latest()?.status === status && latest(), what, timeoutMs);

describe('meta-health', () => {
  it('is GREEN with everything up, and publishes the same record in meta_health.json', async () => {
    const h = await untilStatus('GREEN', 'GREEN');
    expect(h).toMatchObject({ m1_proc: 1, m2_heartbeat: 1, m3_data_freshness: 1, m4_control_plane: 1, m5_coherence: 1 });
    expect(Object.keys(h.subsystem_health.data_sources).sort()).toEqual(['esof', 'extf', 'obf', 'safety', 'scan', 'state']);
    expect(h.subsystem_health.processes['event-trader']).toMatchObject({ status: 'ok', score: 1 });
    const file = JSON.parse(readFileSync(path.join(sup.stateDir, MetaHealthFiles.LATEST), 'utf8')) as MetaHealth;
    expect(Date.now() - Date.parse(file.timestamp)).toBeLessThan(5_000);
    expect(metaHealthSchema.safeParse(file).success).toBe(true);
  });

  it('a service killed with SIGKILL is restarted and ready; health goes DEGRADED, then GREEN', async () => {
    const bridge = service('scan-bridge');
    const before = bridge.pid!;
    const from = seen.length;
    process.kill(before, 'SIGKILL');
    await waitFor(() => bridge.state === 'running' && bridge.pid !== before, 'the bridge restarted and ready', 30_000);
    await waitFor(() => seen.slice(from).some((h) => h.status === 'GREEN' && h.subsystem_health.processes['scan-bridge']?.pid === bridge.pid), 'GREEN with the new bridge', 40_000);
    const during = seen.slice(from).map((h) => h.status);
    expect(during).toContain('DEGRADED');
    expect(seen.slice(from).find((h) => h.status === 'DEGRADED')?.m1_proc).toBeCloseTo(2 / 3, 3);
    // The supervisor restarted it; recovery had nothing to do.
    expect(latest()?.recovery.recent).toEqual([]);
  });

  it('a stale external indicator makes it DEGRADED and restarts nothing', async () => {
    const restarts = () => sup.supervisor.processes.map((p) => p.restarts).reduce((a, b) => a + b, 0);
    const before = restarts();
    exfAgeMs = 45_000;
    const h = await untilStatus('DEGRADED', 'DEGRADED by the stale feed', 20_000);
    expect(h.subsystem_health.data_sources.extf).toMatchObject({ status: 'stale', score: 0.5, external: true });
    await new Promise((r) => setTimeout(r, 4_000));
    expect(latest()?.status).toBe('DEGRADED');
    expect(restarts()).toBe(before);
    expect(latest()?.recovery.recent).toEqual([]);
    exfAgeMs = 0;
    await untilStatus('GREEN', 'GREEN once the feed is fresh', 20_000);
  });

  it('a frozen service (alive, not beating) is restarted; within its budget, then no more until a person resets it', async () => {
    const safety = service('safety');
    const freezeUntilRestarted = async () => {
      const pid = safety.pid!;
      process.kill(pid, 'SIGSTOP');
      await waitFor(() => safety.pid !== pid && safety.state === 'running', 'the frozen safety restarted', 30_000);
    };
    const startRestarts = safety.restarts;
    await freezeUntilRestarted();
    expect(safety.restarts).toBe(startRestarts + 1);
    expect(latest()?.recovery.recent.at(-1)).toMatchObject({ target: 'safety', reason: 'frozen' });
    await untilStatus('GREEN', 'GREEN after the first recovery');
    await freezeUntilRestarted(); // the second of a budget of two
    await untilStatus('GREEN', 'GREEN after the second recovery');

    // The third freeze: the budget is spent. No restart, status CRITICAL, a plain log line.
    const pid = safety.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const h = await waitFor(() => latest()?.recovery.spent.includes('safety') && latest(), 'the budget reported spent', 30_000);
      expect(['CRITICAL', 'DEAD']).toContain(h.status);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(safety.pid).toBe(pid);
      expect(safety.restarts).toBe(startRestarts + 2);
      const log = readFileSync(path.join(sup.logDir, 'meta-health.log'), 'utf8');
      expect(log).toMatch(/recovery budget for safety spent \(2 restarts within 15 min\): no more restarts of it until an operator acts \(dolphin health --reset safety\)/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // A person resets it (what dolphin health --reset safety does).
    writeFileSync(path.join(sup.stateDir, MetaHealthFiles.RESET), 'safety');
    await waitFor(() => !existsSync(path.join(sup.stateDir, MetaHealthFiles.RESET)) && latest()?.recovery.spent.length === 0, 'the budget reset', 20_000);
    await untilStatus('GREEN', 'GREEN after the reset');
  });
});
