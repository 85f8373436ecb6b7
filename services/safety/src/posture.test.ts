import { describe, expect, it } from 'vitest';
import { safetySchema, type Exf, type Posture, type Safety } from '@dolphin/core';
import { evaluateSafety, safetyMemorySchema, safetyParams, type SafetyInputs, type SafetyMemory, type SafetyParams } from './posture.ts';

const P = safetyParams();
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const SEC = 1_000;
const MIN = 60_000;

const calmExf = (over: Partial<Exf> = {}): Exf => ({ funding_btc: 0.0001, dvol_btc: 40, fear_greed: 50, taker_ratio: 1.1, _pushed_at: new Date(T0).toISOString(), ...over });
/** Four stress signals: funding, DVOL above 80 (two), taker ratio. */
const stressExf = calmExf({ funding_btc: -0.0003, dvol_btc: 85, taker_ratio: 0.7 });
/** Every input present, fresh and calm, overridden field by field. */
const fresh = (over: Partial<SafetyInputs> = {}): SafetyInputs => ({ exf: calmExf(), exfAgeMs: MIN, drawdown: 0, scanAgeMs: 2 * SEC, stateAgeMs: 2 * SEC, ...over });

/** Evaluates step by step, carrying the memory like the service does. */
function sim(params: SafetyParams = P, start?: SafetyMemory) {
  let memory = start;
  const out: Array<{ t: number; safety: Safety }> = [];
  return {
    at(t: number, inputs: SafetyInputs): Safety {
      const r = evaluateSafety(memory, inputs, params, t);
      memory = r.memory;
      out.push({ t, safety: r.safety });
      return r.safety;
    },
    /** Every step from `from` (inclusive) to `to` (exclusive), `every` ms apart. */
    run(from: number, to: number, every: number, inputs: (t: number, i: number) => SafetyInputs) {
      for (let t = from, i = 0; t < to; t += every, i++) this.at(t, inputs(t, i));
    },
    out,
    get memory() { return memory; },
    /** The posture changes as [posture, time since T0 in s], the first evaluation included. */
    changes(): Array<[Posture, number]> {
      const c: Array<[Posture, number]> = [];
      for (const { t, safety } of out) if (c.length === 0 || c[c.length - 1]![0] !== safety.posture) c.push([safety.posture, (t - T0) / SEC]);
      return c;
    },
    sizes(): number[] {
      const s: number[] = [];
      for (const { safety } of out) if (s[s.length - 1] !== safety.size_scale) s.push(safety.size_scale);
      return s;
    },
  };
}
const once = (inputs: SafetyInputs, params = P) => evaluateSafety(undefined, inputs, params, T0).safety;

describe('safetyParams', () => {
  it('has the documented defaults', () => {
    expect(P).toMatchObject({
      stalkerDrawdown: 0.02, turtleDrawdown: 0.04, hibernateDrawdown: 0.06, drawdownHysteresis: 0.005,
      stalkerSignals: 2, turtleSignals: 4, scanStaleMs: 30_000, scanDeadMs: 120_000, exfStaleMs: 900_000,
      stateStaleMs: 120_000, calmMs: 300_000, fundingThreshold: -0.0001, dvolThreshold: 55, dvolExtremeThreshold: 80,
      dvolHysteresis: 2, fearGreedThreshold: 25, fearConfirmMs: 1_800_000, takerRatioThreshold: 0.8,
    });
  });

  it('refuses thresholds out of order and unknown fields, naming the field', () => {
    expect(() => safetyParams({ turtleDrawdown: 0.01 })).toThrow(/turtleDrawdown/);
    expect(() => safetyParams({ scanDeadMs: 10_000 })).toThrow(/scanDeadMs/);
    expect(() => safetyParams({ calmMinutes: 5 })).toThrow(/calmMinutes/);
  });
});

describe('evaluateSafety: one evaluation', () => {
  it('all fresh and calm: APEX at full size, a valid DOLPHIN_SAFETY value', () => {
    const s = once(fresh());
    expect(s).toEqual({ posture: 'APEX', size_scale: 1, reasons: ['all clear: no stress signals, drawdown within limits, data fresh'], ts: '2026-11-24T10:00:00.000000Z' });
    expect(safetySchema.parse(s)).toEqual(s);
  });

  it('drawdown: 2 % STALKER, 4 % TURTLE, 6 % HIBERNATE (size 0)', () => {
    expect([0.0199, 0.02, 0.039, 0.04, 0.06, 0.2].map((drawdown) => once(fresh({ drawdown })).posture)).toEqual(['APEX', 'STALKER', 'STALKER', 'TURTLE', 'HIBERNATE', 'HIBERNATE']);
    expect(once(fresh({ drawdown: 0.06 })).size_scale).toBe(0);
    expect(once(fresh({ drawdown: 0.025 })).reasons).toEqual(["drawdown 2.5 % of the day's starting capital is at or above 2 % → STALKER"]);
  });

  it('stress signals: 1 cuts size only, 2 STALKER, 4 TURTLE, 5 still TURTLE (never HIBERNATE)', () => {
    const one = once(fresh({ exf: calmExf({ taker_ratio: 0.7 }) }));
    expect([one.posture, one.size_scale]).toEqual(['APEX', 0.85]);
    const two = once(fresh({ exf: calmExf({ taker_ratio: 0.7, funding_btc: -0.0002 }) }));
    expect([two.posture, two.size_scale]).toEqual(['STALKER', 0.55]);
    expect(two.reasons[0]).toBe('2 stress signals (2 or more) → STALKER');
    const four = once(fresh({ exf: stressExf }));
    expect([four.posture, four.size_scale]).toEqual(['TURTLE', 0.25]);
    const five = once(fresh({ exf: { ...stressExf, fear_greed: 10 } }), { ...P, fearConfirmMs: 0 });
    expect([five.posture, five.size_scale]).toEqual(['TURTLE', 0.2]);
    expect(five.reasons).toContain('size cut 80 % for 5 stress signals: size_scale 0.2');
  });

  it('scan freshness: over 30 s STALKER, over 120 s HIBERNATE, exactly at a limit not yet', () => {
    expect([30 * SEC, 31 * SEC, 120 * SEC, 121 * SEC].map((scanAgeMs) => once(fresh({ scanAgeMs })).posture)).toEqual(['APEX', 'STALKER', 'STALKER', 'HIBERNATE']);
    expect(once(fresh({ scanAgeMs: 150 * SEC })).reasons).toContain('last scan is 2 min 30 s old (over 2 min): nothing to trade on → HIBERNATE');
  });

  it('external factors older than 15 min: STALKER, the age read from _pushed_at when not given', () => {
    const old = calmExf({ _pushed_at: new Date(T0 - 20 * MIN).toISOString() });
    const s = once({ ...fresh(), exf: old, exfAgeMs: undefined });
    expect(s.posture).toBe('STALKER');
    expect(s.reasons).toEqual(["external factors are 20 min old (over 15 min): size can't be judged → STALKER"]);
    expect(once(fresh({ exfAgeMs: 15 * MIN })).posture).toBe('APEX');
  });

  it('trader state older than 120 s: TURTLE', () => {
    expect(once(fresh({ stateAgeMs: 120 * SEC })).posture).toBe('APEX');
    const s = once(fresh({ stateAgeMs: 121 * SEC }));
    expect(s.posture).toBe('TURTLE');
    expect(s.reasons).toEqual(['trader state is 2 min 1 s old (over 2 min): the trader may be down → TURTLE']);
  });
});

describe('missing inputs', () => {
  it('nothing at all: HIBERNATE, size 0, every gap said', () => {
    const s = once({});
    expect([s.posture, s.size_scale]).toEqual(['HIBERNATE', 0]);
    expect(s.reasons).toEqual([
      'drawdown unknown (no trader PnL yet): not judged',
      'no scan seen yet: nothing to trade on → HIBERNATE',
      "external factors (exf_latest) not received: size can't be judged → STALKER",
      'no trader state seen yet: the trader may be down → TURTLE',
      'HIBERNATE: size_scale 0',
    ]);
  });

  it('each missing input on its own', () => {
    expect(once(fresh({ exf: undefined })).posture).toBe('STALKER');
    expect(once(fresh({ exf: undefined })).size_scale).toBe(1);
    expect(once(fresh({ stateAgeMs: undefined })).posture).toBe('TURTLE');
    expect(once(fresh({ scanAgeMs: undefined })).posture).toBe('HIBERNATE');
    expect(once(fresh({ scanAgeMs: Number.NaN })).posture).toBe('HIBERNATE');
    const noDd = once(fresh({ drawdown: undefined }));
    expect([noDd.posture, noDd.reasons]).toEqual(['APEX', ['drawdown unknown (no trader PnL yet): not judged']]);
  });

  it('null (never fetched) factors count nothing and say so', () => {
    const s = once(fresh({ exf: calmExf({ funding_btc: null, fear_greed: null }) }));
    expect(s.posture).toBe('APEX');
    expect(s.reasons).toEqual(['funding rate missing (not fetched yet): not counted', 'fear & greed missing (not fetched yet): not counted']);
  });

  it('a drawdown that becomes unknown keeps the level last judged', () => {
    const s = sim();
    s.at(T0, fresh({ drawdown: 0.045 }));
    const later = s.at(T0 + 20 * MIN, fresh({ drawdown: undefined }));
    expect(later.posture).toBe('TURTLE');
    expect(later.reasons).toEqual(['drawdown unknown: keeping the last level judged (4 % or more) → TURTLE']);
  });
});

describe('the walk up and back down', () => {
  it('APEX → STALKER → TURTLE → HIBERNATE at once, back one level per 5 min of calm', () => {
    const s = sim();
    s.run(T0, T0 + 60 * SEC, 10 * SEC, () => fresh());
    s.run(T0 + 60 * SEC, T0 + 120 * SEC, 10 * SEC, () => fresh({ drawdown: 0.025 }));
    s.run(T0 + 120 * SEC, T0 + 180 * SEC, 10 * SEC, () => fresh({ drawdown: 0.025, exf: stressExf }));
    s.run(T0 + 180 * SEC, T0 + 240 * SEC, 10 * SEC, () => fresh({ drawdown: 0.025, exf: stressExf, scanAgeMs: 150 * SEC }));
    s.run(T0 + 240 * SEC, T0 + 30 * MIN, 10 * SEC, () => fresh());
    expect(s.changes()).toEqual([['APEX', 0], ['STALKER', 60], ['TURTLE', 120], ['HIBERNATE', 180], ['TURTLE', 540], ['STALKER', 840], ['APEX', 1140]]);
    // Size: full, cut for 4 signals, 0 in HIBERNATE, full again once the signals have been gone 5 min.
    expect(s.sizes()).toEqual([1, 0.25, 0, 1]);
    const holding = s.out.find((o) => o.t === T0 + 360 * SEC)!.safety;
    expect(holding.reasons).toEqual(['conditions now point to APEX; holding HIBERNATE (since 10:03:00 UTC) until calm for 5 min (2 min so far)', 'HIBERNATE: size_scale 0']);
    expect(s.out.at(-1)!.safety.reasons).toEqual(['all clear: no stress signals, drawdown within limits, data fresh']);
  });

  it('a relapse during the calm period starts it again', () => {
    const s = sim();
    s.at(T0, fresh({ stateAgeMs: 200 * SEC }));
    s.run(T0 + 10 * SEC, T0 + 200 * SEC, 10 * SEC, () => fresh());
    s.at(T0 + 200 * SEC, fresh({ stateAgeMs: 200 * SEC }));
    s.run(T0 + 210 * SEC, T0 + 20 * MIN, 10 * SEC, () => fresh());
    expect(s.changes()).toEqual([['TURTLE', 0], ['STALKER', 510], ['APEX', 810]]);
  });

  it('a target that stays worse than APEX is where the walk back stops', () => {
    const s = sim();
    s.at(T0, fresh({ drawdown: 0.07 }));
    s.run(T0 + 10 * SEC, T0 + 40 * MIN, 10 * SEC, () => fresh({ scanAgeMs: 45 * SEC }));
    expect(s.changes()).toEqual([['HIBERNATE', 0], ['TURTLE', 310], ['STALKER', 610]]);
  });

  it('drawdown must fall below its threshold minus 0.005 before the calm period counts', () => {
    const s = sim();
    s.at(T0, fresh({ drawdown: 0.021 }));
    s.run(T0 + 10 * SEC, T0 + 20 * MIN, 10 * SEC, () => fresh({ drawdown: 0.016 }));
    expect(s.changes()).toEqual([['STALKER', 0]]);
    expect(s.out.at(-1)!.safety.reasons).toEqual(['drawdown 1.6 % still counts as 2 % or more until it is below 1.5 % → STALKER']);
    s.run(T0 + 20 * MIN, T0 + 30 * MIN, 10 * SEC, () => fresh({ drawdown: 0.0149 }));
    expect(s.changes()).toEqual([['STALKER', 0], ['APEX', 1500]]);
  });
});

describe('no flapping', () => {
  const hour = (params: SafetyParams, inputs: (i: number) => SafetyInputs) => {
    const s = sim(params);
    s.run(T0, T0 + 60 * MIN, 10 * SEC, (_, i) => inputs(i));
    return s;
  };
  const ddAround2 = (i: number) => fresh({ drawdown: i % 2 ? 0.0201 : 0.0199 });
  const dvolAround55 = (i: number) => fresh({ exf: calmExf({ funding_btc: -0.0003, dvol_btc: i % 2 ? 55.1 : 54.9 }) });

  it('drawdown 0.0199/0.0201 every 10 s for an hour: one change', () => {
    expect(hour(P, ddAround2).changes()).toEqual([['APEX', 0], ['STALKER', 10]]);
    // Either guard alone holds it: the drawdown band, and the calm period.
    expect(hour({ ...P, calmMs: 0 }, ddAround2).changes()).toHaveLength(2);
    expect(hour({ ...P, drawdownHysteresis: 0 }, ddAround2).changes()).toHaveLength(2);
    // Without both it would flap on every step: the guards are what this test measures.
    expect(hour({ ...P, calmMs: 0, drawdownHysteresis: 0 }, ddAround2).changes().length).toBeGreaterThan(300);
  });

  it('DVOL 54.9/55.1 with funding stress: one posture change, one size change', () => {
    const s = hour(P, dvolAround55);
    expect(s.changes()).toEqual([['APEX', 0], ['STALKER', 10]]);
    expect(s.sizes()).toEqual([0.85, 0.55]);
    expect(hour({ ...P, calmMs: 0 }, dvolAround55).changes()).toHaveLength(2);
    expect(hour({ ...P, calmMs: 0, dvolHysteresis: 0 }, dvolAround55).changes().length).toBeGreaterThan(300);
  });

  it('a noisy taker ratio (0.79/0.81) holds one size cut instead of toggling it', () => {
    const s = hour(P, (i) => fresh({ exf: calmExf({ taker_ratio: i % 2 ? 0.81 : 0.79 }) }));
    expect(s.sizes()).toEqual([0.85]);
    expect(s.changes()).toEqual([['APEX', 0]]);
    expect(s.out.at(-1)!.safety.reasons).toEqual(['size cut 15 % for 1 stress signal (the most in the last 5 min; 0 now): size_scale 0.85']);
    // The last 0.79 was at 59:40; 5 min after it the cut eases.
    s.run(T0 + 60 * MIN, T0 + 70 * MIN, 10 * SEC, () => fresh());
    expect(s.sizes()).toEqual([0.85, 1]);
    const eased = s.out.find((o) => o.safety.size_scale === 1)!;
    expect((eased.t - T0) / SEC).toBe(3580 + 300);
  });

  it('a scan age hovering at 30 s: one change', () => {
    expect(hour(P, (i) => fresh({ scanAgeMs: i % 2 ? 31 * SEC : 29 * SEC })).changes()).toEqual([['APEX', 0], ['STALKER', 10]]);
  });
});

describe('determinism and memory', () => {
  /** A fixed pseudo-random hour of inputs wandering across every threshold. */
  const script = (() => {
    let x = 42;
    const rnd = () => (x = (x * 48_271) % 2_147_483_647) / 2_147_483_647;
    return Array.from({ length: 360 }, (_, i): [number, SafetyInputs] => [T0 + i * 10 * SEC, {
      exf: calmExf({ funding_btc: -0.0004 + rnd() * 0.0006, dvol_btc: 45 + rnd() * 45, fear_greed: rnd() * 50, taker_ratio: 0.6 + rnd() * 0.5 }),
      exfAgeMs: rnd() * 20 * MIN,
      drawdown: rnd() < 0.1 ? undefined : rnd() * 0.07,
      scanAgeMs: rnd() * 150 * SEC,
      stateAgeMs: rnd() * 150 * SEC,
    }]);
  })();

  it('the same inputs give the same outputs', () => {
    const a = sim();
    const b = sim();
    for (const [t, inputs] of script) a.at(t, inputs);
    for (const [t, inputs] of script) b.at(t, inputs);
    expect(b.out).toEqual(a.out);
    expect(new Set(a.out.map((o) => o.safety.posture)).size).toBeGreaterThan(1); // the script does move things
    for (const o of a.out) safetySchema.parse(o.safety);
  });

  it('memory survives a JSON round trip (a restart) with no difference', () => {
    const direct = sim();
    for (const [t, inputs] of script) direct.at(t, inputs);
    let memory: SafetyMemory | undefined;
    const restored: Safety[] = [];
    for (const [t, inputs] of script) {
      const r = evaluateSafety(memory, inputs, P, t);
      restored.push(r.safety);
      memory = safetyMemorySchema.parse(JSON.parse(JSON.stringify(r.memory)));
    }
    expect(restored).toEqual(direct.out.map((o) => o.safety));
  });

  it('does not change the memory it is given', () => {
    const first = evaluateSafety(undefined, fresh({ drawdown: 0.05 }), P, T0).memory;
    const frozen = structuredClone(first);
    evaluateSafety(first, fresh(), P, T0 + 10 * MIN);
    expect(first).toEqual(frozen);
  });
});
