import { describe, expect, it } from 'vitest';
import { isDolphinError } from '@dolphin/core';
import { assertEpochNotOlder, leaderUntil, leaseTiming, mayTakeOver, nextEpoch, refuseOlderEpoch, type Lease } from './leadership.ts';

const lease = (o: Partial<Lease> = {}): Lease => ({ role: 'r', epoch: 7, holder: 'b/1/x', seq: 3, ttl_ms: 3_000, host: 'b', pid: 1, ts: '2026-01-01T00:00:00.000000Z', ...o });

describe('leadership timing', () => {
  it('defaults: TTL 3 s, renew every 1 s, margin 0.5 s, poll every 1 s', () => {
    expect(leaseTiming({ role: 'scan-bridge' })).toEqual({ ttlMs: 3_000, renewEveryMs: 1_000, safetyMarginMs: 500, pollEveryMs: 1_000 });
  });

  it('refuses timing that cannot be safe, naming each option', () => {
    try {
      leaseTiming({ role: 'bad role', ttlMs: 1_000, safetyMarginMs: 600, renewEveryMs: 300 });
      expect.unreachable();
    } catch (err) {
      expect(isDolphinError(err, 'DOLPHIN_HZ_LEADERSHIP_OPTIONS')).toBe(true);
      expect((err as Error).message).toMatch(/role "bad role"/);
      expect((err as Error).message).toMatch(/safetyMarginMs 600/);
      expect((err as Error).message).toMatch(/renewEveryMs 300/);
    }
    expect(() => leaseTiming({ role: 'r', ttlMs: 3_000, renewEveryMs: 1_300 })).toThrow(/renewEveryMs/);
  });

  it('a holder acts until its last successful write was sent + TTL − margin', () => {
    expect(leaderUntil(10_000, { ttlMs: 3_000, safetyMarginMs: 500 })).toBe(12_500);
  });

  it('a standby takes a held lease only after seeing the same text a whole TTL (the larger of its own and the holder\'s)', () => {
    const seen = { text: 'v', since: 1_000 };
    expect(mayTakeOver(seen, lease(), 'a/1/y', 3_999, 3_000)).toBe(false);
    expect(mayTakeOver(seen, lease(), 'a/1/y', 4_000, 3_000)).toBe(true);
    expect(mayTakeOver(seen, lease({ ttl_ms: 5_000 }), 'a/1/y', 4_000, 3_000)).toBe(false);
    expect(mayTakeOver(seen, lease({ ttl_ms: 5_000 }), 'a/1/y', 6_000, 3_000)).toBe(true);
    // Not a lease we can read (refused seal): the same whole-TTL wait.
    expect(mayTakeOver(seen, undefined, 'a/1/y', 3_999, 3_000)).toBe(false);
    expect(mayTakeOver(seen, undefined, 'a/1/y', 4_000, 3_000)).toBe(true);
  });

  it('a released lease, or one this candidate holds itself, is taken at once', () => {
    const seen = { text: 'v', since: 1_000 };
    expect(mayTakeOver(seen, lease({ holder: null }), 'a/1/y', 1_000, 3_000)).toBe(true);
    expect(mayTakeOver(seen, lease({ holder: 'a/1/y' }), 'a/1/y', 1_000, 3_000)).toBe(true);
  });
});

describe('epochs', () => {
  it('the next holder gets the last epoch + 1, never below what this process has seen', () => {
    expect(nextEpoch(7, 0, 1e12)).toBe(8);
    expect(nextEpoch(7, 9, 1e12)).toBe(10);
  });

  it('with no lease in the map the epoch starts from the wall clock, above anything seen', () => {
    expect(nextEpoch(undefined, 0, 1_700_000_000_000.4)).toBe(1_700_000_000_000);
    expect(nextEpoch(undefined, 1_800_000_000_000, 1_700_000_000_000)).toBe(1_800_000_000_001);
  });

  it('readers refuse only an older epoch', () => {
    expect(refuseOlderEpoch(undefined, 1)).toBe(false);
    expect(refuseOlderEpoch(5, 5)).toBe(false);
    expect(refuseOlderEpoch(5, 6)).toBe(false);
    expect(refuseOlderEpoch(5, 4)).toBe(true);
    expect(() => assertEpochNotOlder('DOLPHIN_STATE_BLUE["latest_nautilus"]', 5, 4)).toThrow(/DOLPHIN_STATE_BLUE\["latest_nautilus"\]: written under epoch 4, but epoch 5/);
    expect(() => assertEpochNotOlder('x', 5, 5)).not.toThrow();
  });
});
