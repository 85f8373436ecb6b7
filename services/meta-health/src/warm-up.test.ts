import { describe, expect, it } from 'vitest';
import { WarmUp } from './warm-up.ts';

describe('warm-up: meta-health judges once it has read its inputs', () => {
  it('waits while the cluster has not been read, and judges from the first cycle that read it', () => {
    const w = new WarmUp(5_000, 1_000);
    expect(w.judging(false, 1_000)).toBe(false);
    expect(w.judging(false, 1_400)).toBe(false);
    expect(w.waitedMs).toBeUndefined();
    expect(w.judging(true, 1_700)).toBe(true);
    expect(w.waitedMs).toBe(700);
  });

  it('judges after the grace without the cluster (then it scores what it sees: no cluster, M4 = 0)', () => {
    const w = new WarmUp(5_000, 1_000);
    expect(w.judging(false, 5_999)).toBe(false);
    expect(w.judging(false, 6_000)).toBe(true);
    expect(w.waitedMs).toBe(5_000);
  });

  it('once judging, stays judging: a later outage is judged as one, not waited out', () => {
    const w = new WarmUp(5_000, 0);
    expect(w.judging(true, 10)).toBe(true);
    expect(w.judging(false, 20)).toBe(true);
    expect(w.judging(false, 60_000)).toBe(true);
  });

  it('a grace of 0 judges the first cycle, read or not', () => {
    expect(new WarmUp(0, 0).judging(false, 0)).toBe(true);
  });
});
