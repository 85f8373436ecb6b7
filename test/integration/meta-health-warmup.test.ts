import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isoMicros, Keys, MapNames, metaHealthSchema, MetaHealthFiles, RingbufferNames, sampleEsof, sampleExf, sampleFeatureScan, sampleHeartbeat,
  sampleObFeatures, sampleSafety, sampleState, schemaFor, type MapName, type MetaHealth,
} from '@dolphin/core';
import { openMap, watchMap, type HzConnection, type Watch } from '@dolphin/hz';
import { startTestMember, startTestSupervisor, testSeal, waitFor, type TestMember, type TestSupervisor } from '@dolphin/test-support';

// meta-health started, then restarted, against a cluster whose heartbeats and data are fresh.
// Its Hazelcast client connects in the background, so its first cycles have read nothing: had it
// judged them, every heartbeat and data source would be missing (M2 = M3 = 0) and it would say
// DEAD. It must wait for its inputs: no record anywhere — the map, its history, meta_health.json
// — until it has read the cluster.

let member: TestMember;
let conn: HzConnection;
let sup: TestSupervisor;
let watch: Watch;
let feeds: NodeJS.Timeout;
let poll: NodeJS.Timeout;
const fromMap: MetaHealth[] = [];
const fromFile: MetaHealth[] = [];

// The six data sources of DESIGN.md §6, each with the field that dates it.
const SOURCES: Array<{ map: MapName; key: string; field: string; value: Record<string, unknown> }> = [
  { map: MapNames.FEATURES, key: Keys.LATEST_EIGEN_SCAN, field: 'bridge_ts', value: sampleFeatureScan },
  { map: MapNames.FEATURES, key: Keys.EXF_LATEST, field: '_pushed_at', value: sampleExf },
  { map: MapNames.FEATURES, key: Keys.OB_FEATURES_LATEST, field: '_pushed_at', value: sampleObFeatures },
  { map: MapNames.FEATURES, key: Keys.ESOF_LATEST, field: '_pushed_at', value: sampleEsof },
  { map: MapNames.SAFETY, key: Keys.SAFETY_LATEST, field: 'ts', value: sampleSafety },
  { map: MapNames.STATE_BLUE, key: Keys.STATE_LATEST, field: 'updated_at', value: sampleState },
];

const keeper = () => sup.supervisor.get('keeper')!;
const metaHealth = () => sup.supervisor.get('meta-health')!;
const sawNothing = (r: MetaHealth) => r.status === 'DEAD' || r.m2_heartbeat === 0 || r.m3_data_freshness === 0;

beforeAll(async () => {
  member = await startTestMember();
  // What the test writes is sealed with the key the services are given: theirs to believe.
  const { keyFile, seal } = testSeal(mkdtempSync(path.join(os.tmpdir(), 'dolphin-key-')));
  conn = await member.client(undefined, { seal });
  const maps = await Promise.all(SOURCES.map((s) => openMap(conn, s.map, schemaFor(s.map, s.key))));
  const beats = await openMap(conn, MapNames.HEARTBEAT, schemaFor(MapNames.HEARTBEAT, 'keeper'));
  // A previous meta-health's last heartbeat, seconds old: what a restarted one finds.
  await beats.set('meta-health', { ...sampleHeartbeat, service: 'meta-health', pid: 1, ts: isoMicros() });
  const push = async () => {
    const now = isoMicros();
    await Promise.all(SOURCES.map((s, i) => maps[i]!.set(s.key, { ...s.value, [s.field]: now })));
    await beats.set('keeper', { ...sampleHeartbeat, service: 'keeper', pid: sup?.supervisor.get('keeper')?.pid ?? 1, ts: now });
  };
  await push();
  feeds = setInterval(() => void push().catch(() => undefined), 500);

  sup = await startTestSupervisor({
    // A critical process whose heartbeat the test writes: M1 and M2 have something to judge.
    keeper: { kind: 'command', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], readiness: { kind: 'none' }, critical: true, stopTimeoutMs: 500 },
    'meta-health': {},
  }, {
    env: {
      HZ_MEMBERS: member.members.join(','), HZ_CLUSTER_NAME: member.clusterName, DOLPHIN__security__keyFile: keyFile,
      DOLPHIN__metaHealth__cycleMs: '250', DOLPHIN__metaHealth__recoveryVia: '"supervisor"', DOLPHIN__heartbeat__intervalMs: '500',
    },
  });
  // Every record meta_health.json holds, however briefly (a cycle is 250 ms; read every 10 ms).
  const file = path.join(sup.stateDir, MetaHealthFiles.LATEST);
  poll = setInterval(() => {
    if (!existsSync(file)) return;
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as MetaHealth;
      if (fromFile.at(-1)?.timestamp !== r.timestamp) fromFile.push(r);
    } catch { /* replaced while read: the next poll reads it */ }
  }, 10);
  watch = watchMap(conn, await openMap(conn, MapNames.META_HEALTH, metaHealthSchema), { key: Keys.META_HEALTH_LATEST, onUpdate: (u) => fromMap.push(u.value as MetaHealth) });
  await watch.ready;
});

afterAll(async () => {
  clearInterval(feeds);
  clearInterval(poll);
  await watch?.close();
  await sup?.stop();
  await member?.stop();
});

describe('meta-health warm-up', () => {
  it('publishes nothing until it has read its inputs, after a start and after a restart: never a DEAD from an empty first cycle', async () => {
    await sup.supervisor.startAll();
    expect(keeper().state).toBe('running');
    const first = await waitFor(() => fromMap.find((r) => r.status === 'GREEN'), 'a GREEN record', 30_000);
    expect(first).toMatchObject({ m1_proc: 1, m2_heartbeat: 1, m3_data_freshness: 1 });

    // Restarted: its new client connects in the background again.
    const restartedAt = Date.now();
    await metaHealth().restart('test: restart meta-health');
    expect(metaHealth().state).toBe('running');
    await waitFor(() => fromMap.some((r) => Date.parse(r.timestamp) > restartedAt && r.status === 'GREEN'), 'GREEN from the restarted meta-health', 30_000);
    await waitFor(() => fromFile.some((r) => Date.parse(r.timestamp) > restartedAt), 'a file record from the restarted meta-health');

    const history = await conn.client.getRingbuffer<string>(RingbufferNames.META_HEALTH_HISTORY);
    const head = (await history.headSequence()).toNumber();
    const tail = (await history.tailSequence()).toNumber();
    const items = (await history.readMany(head, 0, tail - head + 1)) as unknown as { get(i: number): string; size(): number };
    const fromHistory = Array.from({ length: items.size() }, (_, i) => JSON.parse(items.get(i)) as MetaHealth);

    for (const [where, records] of [['DOLPHIN_META_HEALTH', fromMap], ['its history', fromHistory], ['meta_health.json', fromFile]] as const) {
      expect(records.length, where).toBeGreaterThan(0);
      expect(records.filter(sawNothing).map((r) => `${r.timestamp} ${r.status} m2 ${r.m2_heartbeat} m3 ${r.m3_data_freshness}`), where).toEqual([]);
    }
    // It said so once per start (not every cycle), and when it began to judge.
    const log = readFileSync(path.join(sup.logDir, 'meta-health.log'), 'utf8');
    const said = log.match(/waiting for its inputs/g)?.length ?? 0;
    expect(said).toBeGreaterThanOrEqual(1);
    expect(said).toBeLessThanOrEqual(2);
    expect(log.match(/inputs read after \d+ ms: judging/g)).toHaveLength(said);
  });
});
