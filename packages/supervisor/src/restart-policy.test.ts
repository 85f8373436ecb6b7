import { describe, expect, it } from 'vitest';
import { restartPolicySchema, startLimitSchema } from '@dolphin/core';
import { RestartTracker } from './restart-policy.ts';

const tracker = (p: Record<string, unknown> = {}, l: Record<string, unknown> = {}) => new RestartTracker(restartPolicySchema.parse(p), startLimitSchema.parse(l));
const crash = { code: 1, signal: null } as const;

describe('restart policy', () => {
  it('waits initial × multiplier^n, capped, and starts over after a healthy run', () => {
    const t = tracker({ initialMs: 100, multiplier: 2, maxMs: 500, resetAfterMs: 10_000 }, { burst: 100 });
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      t.recordStart(now);
      const v = t.onExit(crash, now + 10);
      if (!v.restart) throw new Error('expected a restart');
      delays.push(v.delayMs);
      now += 10 + v.delayMs;
    }
    expect(delays).toEqual([100, 200, 400, 500, 500]);
    t.recordStart(now);
    const after = t.onExit(crash, now + 10_000); // ran resetAfterMs: healthy again
    expect(after).toEqual({ restart: true, delayMs: 100 });
  });

  it('FAILED after `burst` starts within the interval; the window slides', () => {
    const t = tracker({ initialMs: 0 }, { burst: 3, intervalMs: 1_000 });
    for (const at of [0, 10, 20]) {
      expect(t.mayStart(at)).toBe(true);
      t.recordStart(at);
    }
    expect(t.onExit(crash, 30)).toMatchObject({ restart: false, why: 'start-limit' });
    expect(t.startsInWindow(30)).toBe(3);
    expect(t.mayStart(999)).toBe(false); // all three still inside
    expect(t.mayStart(1_000)).toBe(true); // the one at 0 has left the window
  });

  it('a reset (a person restarting it) clears the limit and the backoff', () => {
    const t = tracker({ initialMs: 100 }, { burst: 1 });
    t.recordStart(0);
    expect(t.onExit(crash, 5).restart).toBe(false);
    t.reset();
    t.recordStart(6);
    expect(t.mayStart(7)).toBe(false);
    t.reset();
    expect(t.mayStart(7)).toBe(true);
  });

  it('on-failure leaves a clean exit alone, restarts a crash or a signal; never never restarts', () => {
    const onFailure = tracker({ mode: 'on-failure' });
    onFailure.recordStart(0);
    expect(onFailure.onExit({ code: 0, signal: null }, 1)).toMatchObject({ restart: false, why: 'policy' });
    expect(onFailure.onExit({ code: null, signal: 'SIGKILL' }, 2).restart).toBe(true);
    expect(onFailure.onExit({ code: 0, signal: null }, 3, 'memory over the limit').restart).toBe(true);
    const never = tracker({ mode: 'never' });
    expect(never.onExit(crash, 1)).toMatchObject({ restart: false, why: 'policy' });
    const always = tracker({ mode: 'always' });
    expect(always.onExit({ code: 0, signal: null }, 1).restart).toBe(true);
  });

  it('exit code 78 (configuration error) is not restarted', () => {
    const t = tracker();
    t.recordStart(0);
    expect(t.onExit({ code: 78, signal: null }, 1)).toMatchObject({ restart: false, why: 'config-error' });
  });
});
