import { describe, expect, it } from 'vitest';
import { loadConfig, restartPolicySchema, serviceEntrySchema, startLimitSchema } from '@dolphin/core';
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

describe('restart policy of a critical entry', () => {
  // The cap bench/recovery.ts chose (docs/operations.md "Restarts of critical processes"): a
  // killed trader is back within a second, and the start limit, not the delay, stops a crash loop.
  const CAP_MS = 250;
  const critical = (fields: Record<string, unknown> = {}) => serviceEntrySchema.parse({ critical: true, ...fields });

  /** Kills of a process that ran `runMs` each time before it was killed: the delay before each restart. */
  const delaysOfKills = (t: RestartTracker, kills: number, runMs: number) => {
    const delays: number[] = [];
    let now = 0;
    t.recordStart(now);
    for (let i = 0; i < kills; i++) {
      now += runMs;
      const v = t.onExit({ code: null, signal: 'SIGKILL' }, now);
      if (!v.restart) throw new Error(`kill ${i + 1}: not restarted (${v.detail})`);
      delays.push(v.delayMs);
      now += v.delayMs;
      t.recordStart(now);
    }
    return delays;
  };

  it('restarts kill after kill within a small cap, never above it', () => {
    const e = critical();
    // The start limit aside (a burst of 20), to see the delays alone: kills 2 s of running apart.
    const delays = delaysOfKills(new RestartTracker(e.restart, { burst: 20, intervalMs: 60_000 }), 12, 2_000);
    expect(delays.slice(0, 3)).toEqual([100, 200, CAP_MS]);
    expect(Math.max(...delays)).toBe(CAP_MS);
  });

  it('the default start limit allows a burst of kills, each restarted within the cap', () => {
    const e = critical();
    // A fresh start and four kills: the five starts of the limit, none waiting above the cap.
    const delays = delaysOfKills(new RestartTracker(e.restart, e.startLimit), 4, 500);
    expect(delays).toEqual([100, 200, CAP_MS, CAP_MS]);
  });

  it('is healthy again after 10 s of running: the next kill waits the initial 100 ms', () => {
    const e = critical();
    const t = new RestartTracker(e.restart, e.startLimit);
    expect(delaysOfKills(t, 2, 1_000)).toEqual([100, 200]);
    // Killed again after 10 s of running: counted healthy.
    expect(t.onExit({ code: null, signal: 'SIGKILL' }, 1_000 + 100 + 1_000 + 200 + 10_000)).toEqual({ restart: true, delayMs: 100 });
  });

  it('a crash loop still ends FAILED after its burst of starts', () => {
    const e = critical();
    const t = new RestartTracker(e.restart, e.startLimit);
    let now = 0;
    let starts = 0;
    for (;;) {
      t.recordStart(now);
      starts += 1;
      const v = t.onExit({ code: 1, signal: null }, now + 50); // crashes 50 ms after each start
      if (!v.restart) {
        expect(v).toMatchObject({ why: 'start-limit', detail: '5 starts within 60 s' });
        break;
      }
      now += 50 + v.delayMs;
    }
    expect(starts).toBe(5);
    expect(now).toBeLessThan(2_000); // FAILED within about a second: no storm, and no long wait for the verdict
  });

  it("a critical entry's restart fields are defaults: each can be set, the others keep theirs", () => {
    expect(critical().restart).toMatchObject({ mode: 'always', initialMs: 100, multiplier: 2, maxMs: CAP_MS, resetAfterMs: 10_000 });
    expect(critical({ restart: { maxMs: 2_000 } }).restart).toMatchObject({ maxMs: 2_000, resetAfterMs: 10_000 });
    expect(critical({ restart: { resetAfterMs: 60_000, mode: 'on-failure' } }).restart).toMatchObject({ maxMs: CAP_MS, resetAfterMs: 60_000, mode: 'on-failure' });
    // Not critical: the long backoff, unchanged.
    expect(serviceEntrySchema.parse({}).restart).toMatchObject({ maxMs: 30_000, resetAfterMs: 60_000 });
    // The registry's critical processes get it; a config changes one field of one of them.
    const config = loadConfig({ dir: '/nonexistent', environ: { DOLPHIN__services__safety__restart__maxMs: '1000' } });
    for (const name of ['member', 'scan-bridge', 'event-trader']) expect(config.services[name]?.restart.maxMs, name).toBe(CAP_MS);
    expect(config.services.safety?.restart).toMatchObject({ maxMs: 1_000, resetAfterMs: 10_000 });
    expect(config.services['meta-health']?.restart.maxMs).toBe(30_000);
  });
});
