import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapNames, sampleFeatureScan, sampleSafety, safetySchema, featureScanSchema, SEAL_FIELD } from '@dolphin/core';
import { openMap, type HzConnection } from '@dolphin/hz';
import { startTestMember, pythonWithHazelcast, PY_CLIENT_SCRIPT, testSeal, type TestMember } from '@dolphin/test-support';

const run = promisify(execFile);
let member: TestMember;
let conn: HzConnection;
let python: string;

beforeAll(async () => {
  python = pythonWithHazelcast();
  member = await startTestMember();
  conn = await member.client();
});
afterAll(async () => {
  await member?.stop();
});

async function py(...args: string[]): Promise<unknown> {
  const { stdout } = await run(python, [PY_CLIENT_SCRIPT, ...args, ], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop() as string);
}

describe('the contract is language-neutral', () => {
  it('Python reads a scan written from Node and json.loads it', async () => {
    const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    await features.set('latest_eigen_scan', sampleFeatureScan);
    const got = await py('get', member.clusterName, member.members.join(','), MapNames.FEATURES, 'latest_eigen_scan');
    expect(got).toEqual({ type: 'str', value: sampleFeatureScan });
  });

  it('Python reads a sealed value as plain JSON (the MAC is one more field); what Python writes is refused by a sealing reader', async () => {
    const { seal } = testSeal(mkdtempSync(path.join(os.tmpdir(), 'dolphin-py-seal-')));
    const sealing = await member.client(undefined, { seal });
    const safety = await openMap(sealing, MapNames.SAFETY, safetySchema);
    await safety.set('latest', sampleSafety);
    const got = (await py('get', member.clusterName, member.members.join(','), MapNames.SAFETY, 'latest')) as { type: string; value: Record<string, unknown> };
    expect(got.type).toBe('str');
    expect(got.value).toMatchObject(sampleSafety);
    expect(got.value[SEAL_FIELD]).toMatch(/^v1\./);
    await py('put', member.clusterName, member.members.join(','), MapNames.SAFETY, 'latest', JSON.stringify({ ...sampleSafety, posture: 'HIBERNATE' }));
    await expect(safety.get('latest')).rejects.toThrow(/carries no MAC of Dolphin's/);
  });

  it('Node reads and validates a value written from Python', async () => {
    const value = { ...sampleSafety, posture: 'TURTLE', reasons: ['written by python'] };
    await py('put', member.clusterName, member.members.join(','), MapNames.SAFETY, 'latest', JSON.stringify(value));
    const safety = await openMap(conn, MapNames.SAFETY, safetySchema);
    expect(await safety.get('latest')).toEqual(value);
  });
});
