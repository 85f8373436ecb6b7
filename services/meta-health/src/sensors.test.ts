import { describe, expect, it } from 'vitest';
import { blend, freshness, heartbeatScore, score, statusOf, worse, type Observation, type ProcessObservation, type SourceObservation } from './sensors.ts';

const proc = (name: string, o: Partial<ProcessObservation> = {}): ProcessObservation => ({
  name, critical: true, state: 'running', wanted: true, pid: 100, beats: true, heartbeat: { ageMs: 1_000, pid: 100, state: 'running' }, restarts: 0, ...o,
});
const SOURCES = ['scan', 'obf', 'extf', 'esof', 'safety', 'state'];
const src = (name: string, o: Partial<SourceObservation> = {}): SourceObservation => ({ name, external: !['safety', 'state'].includes(name), ageMs: 1_000, valid: true, ...o });
const healthy = (): Observation => ({
  processes: ['member', 'safety', 'scan-bridge', 'event-trader'].map((n) => proc(n, n === 'member' ? { beats: false, heartbeat: undefined } : {})),
  sources: SOURCES.map((n) => src(n)),
  hazelcast: true,
  ports: { supervisor: true, 'scan-bridge': true },
});

describe('sensor scores at their thresholds', () => {
  it('M2 heartbeat: < 30 s → 1, 30–60 s → 0.5, > 60 s → 0, none → 0', () => {
    expect([0, 29_999, 30_000, 45_000, 60_000, 60_001, undefined].map(heartbeatScore)).toEqual([1, 1, 0.5, 0.5, 0.5, 0, 0]);
  });

  it('M3 freshness: < 30 s fresh, 30–120 s stale, > 120 s dead, absent missing', () => {
    expect([29_999, 30_000, 120_000, 120_001, undefined].map((a) => freshness(a))).toEqual([
      { score: 1, status: 'fresh' }, { score: 0.5, status: 'stale' }, { score: 0.5, status: 'stale' }, { score: 0, status: 'dead' }, { score: 0, status: 'missing' },
    ]);
  });

  it('status: > 0.8 GREEN, > 0.5 DEGRADED, > 0.2 CRITICAL, else DEAD', () => {
    expect([1, 0.801, 0.8, 0.501, 0.5, 0.201, 0.2, 0].map(statusOf)).toEqual(['GREEN', 'GREEN', 'DEGRADED', 'DEGRADED', 'CRITICAL', 'CRITICAL', 'DEAD', 'DEAD']);
    expect(worse('GREEN', 'CRITICAL')).toBe('CRITICAL');
    expect(worse('DEAD', 'DEGRADED')).toBe('DEAD');
  });

  it('blend: the mean pulled halfway to the worst; nothing to judge is 1', () => {
    expect(blend([])).toBe(1);
    expect(blend([1, 1, 1])).toBe(1);
    expect(blend([1, 1, 1, 1, 1, 0.5])).toBeCloseTo((11 / 12 + 0.5) / 2);
    expect(blend([0, 0])).toBe(0);
  });
});

describe('rm_meta from an observation', () => {
  it('all well → every sensor 1, GREEN', () => {
    const s = score(healthy());
    expect(s).toMatchObject({ m1_proc: 1, m2_heartbeat: 1, m3_data_freshness: 1, m4_control_plane: 1, m5_coherence: 1, rm_meta: 1, status: 'GREEN' });
    expect(s.processes['scan-bridge']).toMatchObject({ score: 1, status: 'ok' });
    expect(s.data_sources.scan).toMatchObject({ score: 1, status: 'fresh', external: true });
  });

  it('M1: one critical process of four down → 0.75, DEGRADED; a non-critical one does not count', () => {
    const o = healthy();
    o.processes[2] = proc('scan-bridge', { state: 'backoff', pid: undefined });
    o.processes.push(proc('indicators', { critical: false, state: 'failed' }));
    const s = score(o);
    expect(s.m1_proc).toBe(0.75);
    expect(s.status).toBe('DEGRADED');
    expect(s.processes.indicators?.status).toBe('FAILED');
  });

  it('a process a person stopped is not held against health', () => {
    const o = healthy();
    o.processes[2] = proc('scan-bridge', { state: 'stopped', wanted: false, heartbeat: undefined, pid: undefined });
    const s = score(o);
    expect(s.m1_proc).toBe(1);
    expect(s.m2_heartbeat).toBe(1);
    expect(s.processes['scan-bridge']?.status).toBe('stopped by request');
  });

  it('one stale external feed → DEGRADED; one dead → CRITICAL; everything dead → DEAD', () => {
    const stale = healthy();
    stale.sources[2] = src('extf', { ageMs: 45_000 });
    expect(score(stale)).toMatchObject({ m3_data_freshness: 0.708, status: 'DEGRADED' });
    const dead = healthy();
    dead.sources[2] = src('extf', { ageMs: 200_000 });
    expect(score(dead)).toMatchObject({ m3_data_freshness: 0.417, status: 'CRITICAL' });
    const none = healthy();
    none.sources = SOURCES.map((n) => src(n, { ageMs: undefined, valid: undefined }));
    expect(score(none)).toMatchObject({ m3_data_freshness: 0, status: 'DEAD' });
    expect(score(none).data_sources.scan?.status).toBe('missing');
  });

  it('M2: a frozen service (heartbeat 45 s old) and one that never beat', () => {
    const o = healthy();
    o.processes[1] = proc('safety', { heartbeat: { ageMs: 45_000, pid: 100, state: 'running' } });
    const s = score(o);
    expect(s.m2_heartbeat).toBeCloseTo((2.5 / 3 + 0.5) / 2, 3);
    expect(s.processes.safety?.status).toBe('heartbeat 45 s old');
    o.processes[1] = proc('safety', { heartbeat: undefined });
    expect(score(o).processes.safety?.status).toBe('no heartbeat');
  });

  it('M4: Hazelcast down → 0 (DEAD); one own port of two silent → 0.5', () => {
    expect(score({ ...healthy(), hazelcast: false })).toMatchObject({ m4_control_plane: 0, status: 'DEAD' });
    expect(score({ ...healthy(), ports: { supervisor: true, 'scan-bridge': false } }).m4_control_plane).toBe(0.5);
    expect(score({ ...healthy(), ports: {} }).m4_control_plane).toBe(1);
  });

  it('M5: a value that breaks the contract → that source 0 and M5 pulled to half', () => {
    const o = healthy();
    o.sources[4] = src('safety', { valid: false, problem: 'posture: Invalid option' });
    const s = score(o);
    expect(s.m5_coherence).toBeCloseTo((5 / 6 + 0) / 2, 3);
    expect(s.data_sources.safety).toMatchObject({ score: 0, status: 'invalid', problem: 'posture: Invalid option' });
    expect(s.status).toBe('CRITICAL');
  });
});

describe('scheduled entries (the daily batch): they run at their times, so not running is their normal state', () => {
  it('waiting for its time, or stopped after a run, it lowers neither M1 nor M2, even when marked critical and beating', () => {
    const o = healthy();
    o.processes.push(proc('daily', { scheduled: true, state: 'scheduled', pid: undefined, heartbeat: undefined }));
    o.processes.push(proc('nightly', { scheduled: true, state: 'stopped', pid: undefined, heartbeat: undefined }));
    const s = score(o);
    expect(s).toMatchObject({ m1_proc: 1, m2_heartbeat: 1, rm_meta: 1, status: 'GREEN' });
    expect(s.processes.daily).toMatchObject({ score: 1, status: 'scheduled', state: 'scheduled' });
    expect(s.processes.nightly).toMatchObject({ score: 1, status: 'scheduled' });
  });

  it('while it runs, its heartbeat counts like any other; a run that failed shows FAILED without lowering M1', () => {
    const o = healthy();
    o.processes.push(proc('daily', { scheduled: true, heartbeat: { ageMs: 45_000, pid: 100, state: 'running' } }));
    expect(score(o).m2_heartbeat).toBeLessThan(1);
    expect(score(o).m1_proc).toBe(1);
    const failed = healthy();
    failed.processes.push(proc('daily', { scheduled: true, state: 'failed', pid: undefined, heartbeat: undefined }));
    expect(score(failed)).toMatchObject({ m1_proc: 1, m2_heartbeat: 1, status: 'GREEN' });
    expect(score(failed).processes.daily?.status).toBe('FAILED');
  });
});

describe('warnings from valid values', () => {
  it('a halted trader (its state valid, fresh, saying halted) is DEGRADED, its reason in the state source', () => {
    const o = healthy();
    o.sources = o.sources.map((s) => (s.name === 'state' ? { ...s, warning: 'trader halted since …: disk full (ENOSPC)' } : s));
    const r = score(o);
    expect(r.status).toBe('DEGRADED');
    expect(r.m5_coherence).toBeCloseTo((11 / 12 + 0.5) / 2, 3);
    expect(r.data_sources.state).toMatchObject({ score: 0.5, status: 'degraded', problem: 'trader halted since …: disk full (ENOSPC)' });
  });
});
