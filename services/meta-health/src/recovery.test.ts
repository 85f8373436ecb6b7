import { describe, expect, it } from 'vitest';
import { metaHealthConfigSchema } from '@dolphin/core';
import { RecoveryPlanner } from './recovery.ts';
import type { Observation, ProcessObservation } from './sensors.ts';

const cfg = metaHealthConfigSchema.parse({ frozenAfterMs: 10_000, memberDownAfterMs: 5_000, deadAfterMs: 5_000, budget: { max: 2, windowMs: 600_000 }, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000 } });
const proc = (name: string, o: Partial<ProcessObservation> = {}): ProcessObservation => ({
  name, critical: true, state: 'running', wanted: true, pid: 7, beats: name !== 'member', heartbeat: name === 'member' ? undefined : { ageMs: 500, pid: 7, state: 'running' }, restarts: 0, ...o,
});
const obs = (o: Partial<Observation> = {}): Observation => ({
  processes: [proc('member'), proc('scan-bridge'), proc('event-trader')],
  sources: [{ name: 'extf', external: true, ageMs: 500_000, valid: true }, { name: 'scan', external: true, ageMs: undefined, valid: undefined }],
  hazelcast: true, ports: {}, ...o,
});
/** Runs the planner every second from t0 to t1 with the observation `at(t)` gives, doing what it says. */
function run(p: RecoveryPlanner, from: number, to: number, at: (t: number) => Observation, ownMember = true) {
  const done: Array<{ t: number; target: string; reason: string }> = [];
  for (let t = from; t <= to; t += 1_000) {
    for (const a of p.plan(at(t), t, ownMember)) {
      done.push({ t, target: a.target, reason: a.reason });
      p.done(a.target, t);
    }
  }
  return done;
}

describe('recovery', () => {
  it('never restarts anything for stale or missing data: external sources are not targets', () => {
    expect(run(new RecoveryPlanner(cfg), 0, 600_000, () => obs())).toEqual([]);
  });

  it('restarts a frozen service once its heartbeat is over frozenAfterMs old, then waits its backoff', () => {
    const p = new RecoveryPlanner(cfg);
    const frozen = (t: number) => obs({ processes: [proc('member'), proc('scan-bridge', { heartbeat: { ageMs: t, pid: 7, state: 'running' } }), proc('event-trader')] });
    // Its heartbeat is 5 s old at t = 0; Hazelcast is judged up for frozenAfterMs first (as after an outage).
    const done = run(p, 0, 30_000, (t) => frozen(t + 5_000));
    expect(done[0]).toEqual({ t: 10_000, target: 'scan-bridge', reason: 'frozen' });
    expect(done[1]?.t).toBe(11_000); // backoff 1 s after the first
    expect(done).toHaveLength(2);
    expect(p.spent()).toEqual(['scan-bridge']); // budget of 2: the third is refused and reported
  });

  it('a just-started process without a heartbeat yet is not frozen until frozenAfterMs has passed', () => {
    const p = new RecoveryPlanner(cfg);
    const done = run(p, 0, 30_000, () => obs({ processes: [proc('member'), proc('scan-bridge', { heartbeat: undefined }), proc('event-trader')] }));
    expect(done[0]).toEqual({ t: 20_000, target: 'scan-bridge', reason: 'frozen' }); // bus up 10 s, then 10 s without a beat
  });

  it('judges no heartbeat while Hazelcast is down, nor for frozenAfterMs after it is back', () => {
    const p = new RecoveryPlanner(cfg);
    const stale = (hz: boolean) => obs({ hazelcast: hz, processes: [proc('member', { state: 'starting' }), proc('scan-bridge', { heartbeat: { ageMs: 90_000, pid: 7, state: 'running' } })] });
    expect(run(p, 0, 60_000, () => stale(false))).toEqual([]);
    const after = run(p, 61_000, 80_000, () => stale(true));
    expect(after[0]?.t).toBe(71_000);
  });

  it('restarts the member when it has not answered for memberDownAfterMs, unless it is being restarted, FAILED, or not ours', () => {
    const down = (state: ProcessObservation['state']) => () => obs({ hazelcast: false, processes: [proc('member', { state }), proc('scan-bridge')] });
    expect(run(new RecoveryPlanner(cfg), 0, 10_000, down('running'))[0]).toEqual({ t: 5_000, target: 'member', reason: 'member-down' });
    for (const s of ['starting', 'backoff', 'failed'] as const) expect(run(new RecoveryPlanner(cfg), 0, 60_000, down(s)), s).toEqual([]);
    expect(run(new RecoveryPlanner(cfg), 0, 60_000, down('running'), false)).toEqual([]);
  });

  it('starts a critical service left down with nothing restarting it; not one a person stopped', () => {
    const dead = run(new RecoveryPlanner(cfg), 0, 10_000, () => obs({ processes: [proc('member'), proc('event-trader', { state: 'stopped', pid: undefined })] }));
    expect(dead[0]).toEqual({ t: 5_000, target: 'event-trader', reason: 'dead' });
    expect(run(new RecoveryPlanner(cfg), 0, 60_000, () => obs({ processes: [proc('member'), proc('event-trader', { state: 'stopped', wanted: false })] }))).toEqual([]);
    expect(run(new RecoveryPlanner(cfg), 0, 60_000, () => obs({ processes: [proc('member'), proc('indicators', { critical: false, state: 'stopped' })] }))).toEqual([]);
  });

  it('never restarts a scheduled entry: not between its runs (even critical), nor a run that does not beat', () => {
    const idle = () => obs({ processes: [proc('member'), proc('daily', { scheduled: true, state: 'stopped', pid: undefined, heartbeat: undefined })] });
    expect(run(new RecoveryPlanner(cfg), 0, 60_000, idle)).toEqual([]);
    const quiet = () => obs({ processes: [proc('member'), proc('daily', { scheduled: true, heartbeat: undefined })] });
    expect(run(new RecoveryPlanner(cfg), 0, 60_000, quiet)).toEqual([]);
  });

  it('a spent budget holds until a reset, also across a restart of meta-health (its memory)', () => {
    const p = new RecoveryPlanner(cfg);
    const frozen = () => obs({ processes: [proc('member'), proc('scan-bridge', { heartbeat: { ageMs: 60_000, pid: 7, state: 'running' } })] });
    expect(run(p, 20_000, 300_000, frozen)).toHaveLength(2);
    const again = new RecoveryPlanner(cfg, JSON.parse(JSON.stringify(p.state)));
    expect(run(again, 301_000, 900_000, frozen)).toEqual([]);
    again.reset('scan-bridge');
    expect(run(again, 901_000, 930_000, frozen)).toHaveLength(2);
  });
});

describe('RecoveryPlanner.restore (a dev-mode restart)', () => {
  it('takes budgets a previous process had, and ignores what is not a recovery memory', () => {
    const cfg = metaHealthConfigSchema.parse({});
    const p = new RecoveryPlanner(cfg);
    expect(p.restore({ targets: { 'scan-bridge': { attempts: [1, 2], notBefore: 4, spentAt: 3 } } })).toBe(true);
    expect(p.spent()).toEqual(['scan-bridge']);
    expect(p.restore({ targets: 'nope' })).toBe(false);
    expect(p.spent()).toEqual(['scan-bridge']);
  });
});
