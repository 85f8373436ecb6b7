import { describe, expect, it } from 'vitest';
import type { Exf } from '@dolphin/core';
import { acbMemorySchema, acbParamsSchema, acbSignals, sizeScaleFor, type AcbMemory } from './acb.ts';

const P = acbParamsSchema.parse({});
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const MIN = 60_000;

/** External factors with no stress, overridden field by field. */
const exf = (over: Partial<Exf> = {}): Exf => ({ funding_btc: 0.0001, dvol_btc: 40, fear_greed: 50, taker_ratio: 1.1, _pushed_at: new Date(T0).toISOString(), ...over });

/** Feeds a sequence of (time, exf) through the breaker, carrying the memory; returns each result. */
function feed(steps: Array<[number, Exf]>, params = P) {
  let memory: AcbMemory | undefined;
  return steps.map(([t, e]) => {
    const r = acbSignals(e, params, memory, t);
    memory = r.memory;
    return r;
  });
}

describe('sizeScaleFor: the cut table', () => {
  it('cuts 0/15/45/55/75/80 % for 0/1/2/3/4/5+ signals', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 9].map(sizeScaleFor)).toEqual([1, 0.85, 0.55, 0.45, 0.25, 0.2, 0.2, 0.2]);
  });

  it('treats nonsense counts as no signal', () => {
    expect(sizeScaleFor(-1)).toBe(1);
    expect(sizeScaleFor(Number.NaN)).toBe(1);
  });
});

describe('acbSignals', () => {
  it('counts nothing when calm, and says nothing', () => {
    expect(acbSignals(exf(), P, undefined, T0)).toEqual({ signals: 0, reasons: [], memory: { fearBelowSinceMs: null, dvolLevel: 0 } });
  });

  it('funding below -0.0001 counts one, in plain words with the numbers', () => {
    const r = acbSignals(exf({ funding_btc: -0.00031 }), P, undefined, T0);
    expect(r.signals).toBe(1);
    expect(r.reasons).toEqual(['funding rate -0.00031 is below -0.0001 (shorts paying: stress)']);
  });

  it('thresholds are strict: a value exactly at one counts nothing', () => {
    const r = acbSignals(exf({ funding_btc: -0.0001, dvol_btc: 55, fear_greed: 25, taker_ratio: 0.8 }), { ...P, fearConfirmMs: 0 }, undefined, T0);
    expect(r.signals).toBe(0);
  });

  it('DVOL above 55 counts one, above 80 two in total', () => {
    expect(acbSignals(exf({ dvol_btc: 55.01 }), P, undefined, T0).signals).toBe(1);
    const extreme = acbSignals(exf({ dvol_btc: 80.5 }), P, undefined, T0);
    expect(extreme.signals).toBe(2);
    expect(extreme.reasons).toEqual(['DVOL 80.5 is above 80 (extreme implied volatility: 2 signals)']);
  });

  it('taker ratio below 0.8 counts one', () => {
    const r = acbSignals(exf({ taker_ratio: 0.72 }), P, undefined, T0);
    expect(r.signals).toBe(1);
    expect(r.reasons).toEqual(['taker buy/sell ratio 0.72 is below 0.8 (sellers dominating: stress)']);
  });

  it('everything stressed (fear confirmed) gives 5 signals', () => {
    const all = exf({ funding_btc: -0.001, dvol_btc: 90, fear_greed: 10, taker_ratio: 0.5 });
    const [first, later] = feed([[T0, all], [T0 + 30 * MIN, all]]);
    expect(first!.signals).toBe(4); // fear not confirmed yet
    expect(later!.signals).toBe(5);
    expect(sizeScaleFor(later!.signals)).toBe(0.2);
  });

  it('null (never fetched) factors add no signal but say they are missing', () => {
    const r = acbSignals(exf({ funding_btc: null, dvol_btc: null, fear_greed: null, taker_ratio: null }), P, undefined, T0);
    expect(r.signals).toBe(0);
    expect(r.reasons).toEqual([
      'funding rate missing (not fetched yet): not counted',
      'DVOL missing (not fetched yet): not counted',
      'fear & greed missing (not fetched yet): not counted',
      'taker ratio missing (not fetched yet): not counted',
    ]);
  });
});

describe('fear & greed confirmation', () => {
  const fear = exf({ fear_greed: 18 });

  it('a dip does not count; below 25 for 30 min does', () => {
    const rs = feed([[T0, fear], [T0 + 10 * MIN, fear], [T0 + 29 * MIN, fear], [T0 + 30 * MIN, fear], [T0 + 45 * MIN, fear]]);
    expect(rs.map((r) => r.signals)).toEqual([0, 0, 0, 1, 1]);
    expect(rs[1]!.reasons).toEqual(['fear & greed 18 is below 25 for 10 min so far; counts once it has stayed there 30 min']);
    expect(rs[3]!.reasons).toEqual(['fear & greed 18 has stayed below 25 for 30 min (extreme fear confirmed: stress)']);
    expect(rs[4]!.memory.fearBelowSinceMs).toBe(T0);
  });

  it('a recovery in between starts the confirmation again', () => {
    const calm = exf({ fear_greed: 30 });
    const rs = feed([[T0, fear], [T0 + 20 * MIN, calm], [T0 + 21 * MIN, fear], [T0 + 45 * MIN, fear], [T0 + 51 * MIN, fear]]);
    expect(rs.map((r) => r.signals)).toEqual([0, 0, 0, 0, 1]);
    expect(rs[1]!.memory.fearBelowSinceMs).toBeNull();
  });

  it('fearConfirmMs is a parameter (0 counts at once)', () => {
    expect(acbSignals(fear, { ...P, fearConfirmMs: 0 }, undefined, T0).signals).toBe(1);
  });
});

describe('DVOL hysteresis', () => {
  it('once counted, stops counting only below threshold − 2', () => {
    const rs = feed([56, 54, 53, 52.9, 54, 55.5].map((d, i): [number, Exf] => [T0 + i * MIN, exf({ dvol_btc: d })]));
    expect(rs.map((r) => r.signals)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(rs[1]!.reasons).toEqual(['DVOL 54 still counts as above 55 until it falls below 53 (high implied volatility: stress)']);
  });

  it('the extreme level holds down to 78, then one signal down to 53', () => {
    const rs = feed([81, 79, 78, 77.9, 60, 52].map((d, i): [number, Exf] => [T0 + i * MIN, exf({ dvol_btc: d })]));
    expect(rs.map((r) => r.signals)).toEqual([2, 2, 2, 1, 1, 0]);
  });

  it('an oscillation around 55 counts once and stays counted', () => {
    const rs = feed(Array.from({ length: 360 }, (_, i) => [T0 + i * 10_000, exf({ dvol_btc: i % 2 ? 55.1 : 54.9 })] as [number, Exf]));
    expect(rs[0]!.signals).toBe(0);
    expect(rs.slice(1).every((r) => r.signals === 1)).toBe(true);
  });

  it('without hysteresis the same oscillation would toggle (what the band prevents)', () => {
    const rs = feed(Array.from({ length: 10 }, (_, i) => [T0 + i * 10_000, exf({ dvol_btc: i % 2 ? 55.1 : 54.9 })] as [number, Exf]), { ...P, dvolHysteresis: 0 });
    expect(rs.map((r) => r.signals)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  });
});

describe('memory', () => {
  it('is plain JSON and valid by its schema', () => {
    const [r] = feed([[T0, exf({ fear_greed: 10, dvol_btc: 60 })]]);
    const copy = JSON.parse(JSON.stringify(r!.memory)) as unknown;
    expect(acbMemorySchema.parse(copy)).toEqual(r!.memory);
  });
});
