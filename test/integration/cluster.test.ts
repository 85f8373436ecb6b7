import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MapNames, dailyPnlSchema, samplePnl } from '@dolphin/core';
import { connect, memberHealth, openMap, type HzConnection } from '@dolphin/hz';
import { startTestCluster, testLogger, waitFor, type TestCluster } from '@dolphin/test-support';

let cluster: TestCluster;
let conn: HzConnection;

beforeAll(async () => {
  cluster = await startTestCluster(3);
  conn = await connect({ settings: cluster.settings(), logger: testLogger('cluster'), firstConnectTimeoutMs: 30_000 });
});
afterAll(async () => {
  await conn?.shutdown();
  await cluster?.stop();
});

const ENTRIES = 500;
const dayKey = (i: number) => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

describe('a 3-member loopback cluster', () => {
  it('forms from three jar members over TCP-IP on loopback', async () => {
    for (const address of cluster.addresses) {
      const health = await waitFor(async () => {
        const h = await memberHealth(address);
        return h?.clusterSize === 3 && h.clusterSafe ? h : undefined;
      }, `${address} to see 3 members`, 60_000);
      expect(health.clusterState).toBe('ACTIVE');
    }
  });

  it('loses no map entry when one member is killed', async () => {
    const pnl = await openMap(conn, MapNames.PNL_BLUE, dailyPnlSchema);
    for (let i = 0; i < ENTRIES; i++) await pnl.set(dayKey(i), { ...samplePnl, date: dayKey(i), trades: i });
    expect(await pnl.size()).toBe(ENTRIES);

    const victim = cluster.members[1]!;
    const exit = await victim.kill();
    expect(exit.signal).not.toBeNull();
    const survivors = cluster.addresses.filter((a) => a !== victim.address);
    for (const address of survivors) {
      await waitFor(async () => {
        const h = await memberHealth(address);
        return h?.clusterSize === 2 && h.clusterSafe;
      }, `${address} to settle at 2 members`, 60_000);
    }

    expect(await pnl.size()).toBe(ENTRIES);
    const entries = new Map(await pnl.entries());
    for (let i = 0; i < ENTRIES; i++) expect(entries.get(dayKey(i))?.trades, dayKey(i)).toBe(i);
  });
});
