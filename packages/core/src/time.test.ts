import { describe, expect, it } from 'vitest';
import { isoMicros, nowEpochNs, nowEpochNsBig, isoToEpochMs, utcDate, ageSeconds } from './time.ts';

describe('time helpers', () => {
  it('formats ISO UTC with exactly six fraction digits', () => {
    expect(isoMicros(1_795_000_000_123_456_789n)).toBe('2026-11-18T11:06:40.123456Z');
    expect(isoMicros(1_795_000_000_000_000_000n)).toBe('2026-11-18T11:06:40.000000Z');
    expect(isoMicros()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  it('epoch ns tracks the wall clock and never goes backwards within a process', () => {
    const a = nowEpochNsBig();
    const b = nowEpochNsBig();
    expect(b >= a).toBe(true);
    expect(Math.abs(nowEpochNs() / 1e6 - Date.now())).toBeLessThan(1_000);
  });

  it('parses, dates and ages', () => {
    expect(isoToEpochMs('2026-11-18T11:06:40.123456Z')).toBe(1_795_000_000_123);
    expect(utcDate(1_795_000_000_123)).toBe('2026-11-18');
    expect(ageSeconds('2026-11-18T11:06:40Z', 1_795_000_030_000)).toBe(30);
    expect(ageSeconds('garbage')).toBe(Infinity);
  });
});
