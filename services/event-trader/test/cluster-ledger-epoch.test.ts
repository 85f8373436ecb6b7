import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMap, type HzConnection } from '@dolphin/hz';
import { CLUSTER_STATE_KEY, clusterLedgerEntrySchema, type ClusterStateEntry, type CommitRecord } from '@dolphin/ledger';
import { initialState, strategyParams } from '@dolphin/strategy';
import { startTestMember, testLogger, testSeal, type TestMember } from '@dolphin/test-support';
import { ClusterLedger } from '../src/cluster-ledger.ts';

// The cluster's copy of a ledger takes no write from an older leader than the one that wrote it last.

let member: TestMember;
let conn: HzConnection;
beforeAll(async () => {
  member = await startTestMember();
  conn = await member.client({}, { seal: testSeal(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ledger-epoch-'))).seal });
});
afterAll(async () => {
  await conn?.shutdown();
  await member?.stop();
});

const decision = (scan: number): CommitRecord => ({
  state: { ...initialState(strategyParams()), lastScanNumber: scan, lastScanTsNs: scan * 1e9 },
  orders: [], algoVersion: 'test', updatedAt: new Date().toISOString(),
});

describe('the cluster copy and epochs', () => {
  it('a deposed leader (older epoch) cannot write over the copy of the newer one', async () => {
    const map = await openMap(conn, 'DOLPHIN_LEDGER_EPOCHTEST', clusterLedgerEntrySchema);
    const newer = new ClusterLedger(map, testLogger('newer'), () => 2);
    const older = new ClusterLedger(map, testLogger('older'), () => 1);
    await newer.record(decision(10));
    await older.record(decision(11));
    const state = (await map.get(CLUSTER_STATE_KEY)) as ClusterStateEntry;
    expect({ epoch: state.epoch, scan: state.scan_number }).toEqual({ epoch: 2, scan: 10 });
    expect(older.refused).toBe(1);
    expect(older.lag).toBe(0);
    // The newer one goes on.
    await newer.record(decision(12));
    expect(((await map.get(CLUSTER_STATE_KEY)) as ClusterStateEntry).scan_number).toBe(12);
  });
});
