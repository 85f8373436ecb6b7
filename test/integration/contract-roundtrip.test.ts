import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_SAMPLES, MapNames, isDolphinError, safetySchema, type MapName } from '@dolphin/core';
import { openContractMap, openMap, type HzConnection } from '@dolphin/hz';
import { startTestMember, type TestMember } from '@dolphin/test-support';

let member: TestMember;
let conn: HzConnection;

beforeAll(async () => {
  member = await startTestMember();
  conn = await member.client();
});
afterAll(async () => {
  await member?.stop();
});

describe('data contract through a real map', () => {
  it('every sample value round-trips unchanged, stored as a JSON string', async () => {
    for (const sample of CONTRACT_SAMPLES) {
      const map = await openContractMap(conn, sample.map as MapName);
      await map.set(sample.key, sample.value);
      expect(await map.get(sample.key), `${sample.map}[${sample.key}]`).toEqual(sample.value);
      const raw = await map.raw.get(sample.key);
      expect(typeof raw).toBe('string');
      expect(JSON.parse(raw as string)).toEqual(sample.value);
    }
  });

  it('a bad value is refused on write with map, key and field named, and nothing is written', async () => {
    const map = await openContractMap(conn, MapNames.SAFETY);
    await map.delete('latest');
    let caught: unknown;
    try {
      await map.set('latest', { posture: 'YOLO', size_scale: 0.5, reasons: [], ts: '2026-11-24T10:00:00.000000Z' });
    } catch (err) {
      caught = err;
    }
    expect(isDolphinError(caught, 'DOLPHIN_CONTRACT_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(/^DOLPHIN_SAFETY\["latest"\]: posture: /);
    expect(await map.raw.get('latest')).toBeNull();
  });

  it('a bad value written by someone else is refused on read, naming map, key and field', async () => {
    const map = await openMap(conn, MapNames.SAFETY, safetySchema);
    await map.raw.set('latest', JSON.stringify({ posture: 'APEX', size_scale: 3, reasons: [], ts: '2026-11-24T10:00:00Z' }));
    await expect(map.get('latest')).rejects.toThrow(/^DOLPHIN_SAFETY\["latest"\]: size_scale: /);
    await map.raw.set('latest', '{"posture": APEX');
    await expect(map.get('latest')).rejects.toSatisfy((e) => isDolphinError(e, 'DOLPHIN_HZ_BAD_JSON') && /DOLPHIN_SAFETY\["latest"\]: not valid JSON/.test((e as Error).message));
  });

  it('a key outside the contract is refused', async () => {
    const map = await openContractMap(conn, MapNames.FEATURES);
    await expect(map.set('latest_scan', {})).rejects.toThrow(/DOLPHIN_FEATURES\["latest_scan"\]: no such key/);
  });
});
