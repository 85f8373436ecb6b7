import { describe, expect, it } from 'vitest';
import { scanRecordSchema, featureScanSchema, safetySchema, heartbeatSchema, obFeaturesSchema, schemaFor, MAP_CONTRACT, MapNames } from '../index.ts';
import { validateOrThrow } from '../validate.ts';
import { isDolphinError } from '../errors.ts';
import { CONTRACT_SAMPLES, sampleScan, sampleFeatureScan, sampleObFeatures } from './samples.ts';

function issuesOf(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[] }[] } } }, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : (r.error?.issues ?? []).map((i) => i.path.join('.'));
}

describe('data contract', () => {
  it('accepts a valid sample for every key family of every map', () => {
    for (const s of CONTRACT_SAMPLES) {
      expect(() => validateOrThrow(schemaFor(s.map, s.key), s.value, `${s.map}["${s.key}"]`), `${s.map}[${s.key}]`).not.toThrow();
    }
  });

  it('has a sample for every contract entry (a new key needs a sample)', () => {
    for (const [map, entries] of Object.entries(MAP_CONTRACT)) {
      for (const entry of entries) {
        const covered = CONTRACT_SAMPLES.some((s) => s.map === map && (typeof entry.key === 'string' ? s.key === entry.key : entry.key.test(s.key)));
        expect(covered, `${map} ${String(entry.key)}`).toBe(true);
      }
    }
  });

  it('refuses unknown keys, naming map and key', () => {
    expect(() => schemaFor(MapNames.SAFETY, 'newest')).toThrow(/DOLPHIN_SAFETY\["newest"\]: no such key/);
    try {
      schemaFor(MapNames.FEATURES, 'asset_btc_ob');
    } catch (err) {
      expect(isDolphinError(err, 'DOLPHIN_CONTRACT_UNKNOWN_KEY')).toBe(true);
    }
  });

  it('scan: NaN and non-positive prices, mismatched lengths and wrong types are refused with their field', () => {
    expect(issuesOf(scanRecordSchema, { ...sampleScan, asset_prices: [1, Number.NaN, 3] })).toEqual(['asset_prices.1']);
    expect(issuesOf(scanRecordSchema, { ...sampleScan, asset_prices: [1, 0, 3] })).toEqual(['asset_prices.1']);
    expect(issuesOf(scanRecordSchema, { ...sampleScan, asset_prices: [1, 2] })).toEqual(['asset_prices']);
    expect(issuesOf(scanRecordSchema, { ...sampleScan, w50_velocity: 'fast' })).toEqual(['w50_velocity']);
    expect(issuesOf(scanRecordSchema, { ...sampleScan, w750_instability: Number.POSITIVE_INFINITY })).toEqual(['w750_instability']);
    const { w150_velocity: _dropped, ...missing } = sampleScan;
    expect(issuesOf(scanRecordSchema, missing)).toEqual(['w150_velocity']);
  });

  it('scan: unknown extra columns are carried through', () => {
    const parsed = scanRecordSchema.parse({ ...sampleScan, ng_extra: [1, 2] });
    expect(parsed.ng_extra).toEqual([1, 2]);
    expect(featureScanSchema.parse(sampleFeatureScan).extra_column).toBe('carried through');
  });

  it('feature scan needs what the bridge adds', () => {
    const { bridge_ts: _b, ...noBridge } = sampleFeatureScan;
    expect(issuesOf(featureScanSchema, noBridge)).toEqual(['bridge_ts']);
    expect(issuesOf(featureScanSchema, { ...sampleFeatureScan, stamps: { put: 1 } })).toEqual(['stamps.put']);
  });

  it('enums and ranges: posture, size_scale, lifecycle state, imbalance', () => {
    const safety = CONTRACT_SAMPLES.find((s) => s.map === 'DOLPHIN_SAFETY')!.value;
    expect(issuesOf(safetySchema, { ...safety, posture: 'YOLO' })).toEqual(['posture']);
    expect(issuesOf(safetySchema, { ...safety, size_scale: 1.2 })).toEqual(['size_scale']);
    const hb = CONTRACT_SAMPLES.find((s) => s.map === 'DOLPHIN_HEARTBEAT')!.value;
    expect(issuesOf(heartbeatSchema, { ...hb, state: 'sleeping' })).toEqual(['state']);
    expect(issuesOf(heartbeatSchema, { ...hb, ts: '24/11/2026' })).toEqual(['ts']);
    const ob = sampleObFeatures as unknown as Record<string, Record<string, unknown>>;
    expect(issuesOf(obFeaturesSchema, { ...ob, BTCUSDT: { ...ob.BTCUSDT, imbalance: 2 } })).toEqual(['BTCUSDT.imbalance']);
    expect(issuesOf(obFeaturesSchema, { ...ob, BTCUSDT: { ...ob.BTCUSDT, bid_depth: [1, 2] } })).toEqual(['BTCUSDT.bid_depth']);
  });

  it('validateOrThrow names where and every failing field', () => {
    expect(() => validateOrThrow(safetySchema, { posture: 'YOLO', size_scale: -1, reasons: [], ts: 'now' }, 'DOLPHIN_SAFETY["latest"]'))
      .toThrow(/^DOLPHIN_SAFETY\["latest"\]: posture: .*; size_scale: .*; ts: /);
  });
});
