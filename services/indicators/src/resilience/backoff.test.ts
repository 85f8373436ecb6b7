import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.ts';

const opts = { initialMs: 100, maxMs: 5_000, multiplier: 2, jitter: 0.2 };
// random() = 0.5 is the middle of the jitter band: no stretch, no shrink.
const middle = (): number => 0.5;

describe('backoffDelayMs', () => {
  it('starts at initialMs and grows by the multiplier per attempt', () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffDelayMs(a, opts, middle))).toEqual([100, 200, 400, 800, 1_600]);
    expect(backoffDelayMs(2, { ...opts, multiplier: 3 }, middle)).toBe(900);
    expect(backoffDelayMs(3, { ...opts, multiplier: 1 }, middle)).toBe(100);
  });

  it('is capped at maxMs, also for attempts large enough to overflow', () => {
    expect(backoffDelayMs(6, opts, middle)).toBe(5_000);
    expect(backoffDelayMs(50, opts, middle)).toBe(5_000);
    expect(backoffDelayMs(5_000, opts, middle)).toBe(5_000);
    expect(backoffDelayMs(5_000, { ...opts, initialMs: 0 }, middle)).toBe(0);
  });

  it('shifts the delay by at most ± jitter share', () => {
    expect(backoffDelayMs(2, opts, () => 0)).toBe(320);
    expect(backoffDelayMs(2, opts, () => 0.999_999)).toBe(480);
    expect(backoffDelayMs(2, opts, () => 0.25)).toBe(360);
    for (let i = 0; i < 1_000; i += 1) {
      const d = backoffDelayMs(3, opts);
      expect(d).toBeGreaterThanOrEqual(640);
      expect(d).toBeLessThanOrEqual(960);
    }
  });

  it('never goes past maxMs, even with jitter stretching a capped delay', () => {
    expect(backoffDelayMs(10, opts, () => 0.999_999)).toBe(5_000);
    expect(backoffDelayMs(10, opts, () => 0)).toBe(4_000);
  });

  it('ignores random() when jitter is 0', () => {
    const noJitter = { ...opts, jitter: 0 };
    expect(backoffDelayMs(1, noJitter, () => 0)).toBe(200);
    expect(backoffDelayMs(1, noJitter, () => 0.999)).toBe(200);
  });

  it('treats a negative or fractional attempt as the nearest attempt at or below, never below 0', () => {
    expect(backoffDelayMs(-3, opts, middle)).toBe(100);
    expect(backoffDelayMs(1.7, opts, middle)).toBe(200);
  });

  it('rejects options out of range', () => {
    expect(() => backoffDelayMs(0, { ...opts, multiplier: 0.5 })).toThrow(/multiplier 0\.5/);
    expect(() => backoffDelayMs(0, { ...opts, jitter: 1.5 })).toThrow(/jitter 1\.5/);
    expect(() => backoffDelayMs(0, { ...opts, initialMs: -1 })).toThrow(RangeError);
    expect(() => backoffDelayMs(0, { ...opts, maxMs: Number.NaN })).toThrow(RangeError);
  });
});
