import type { HealthStatus } from '@dolphin/core';

// The five sensors of DESIGN.md §6, each 0..1, and rm_meta = M1·M2·M3·M4·M5. Pure: the daemon
// gathers an Observation, this turns it into numbers and words.

/** Heartbeat age → M2's per-service score: < 30 s 1, 30–60 s 0.5, > 60 s 0. */
export function heartbeatScore(ageMs: number | undefined): number {
  if (ageMs === undefined) return 0;
  if (ageMs < 30_000) return 1;
  return ageMs <= 60_000 ? 0.5 : 0;
}

export type Freshness = 'fresh' | 'stale' | 'dead' | 'missing';

/** Data age → M3's per-source score: < 30 s fresh 1, 30–120 s stale 0.5, > 120 s dead 0. */
export function freshness(ageMs: number | undefined): { score: number; status: Freshness } {
  if (ageMs === undefined) return { score: 0, status: 'missing' };
  if (ageMs < 30_000) return { score: 1, status: 'fresh' };
  return ageMs <= 120_000 ? { score: 0.5, status: 'stale' } : { score: 0, status: 'dead' };
}

/**
 * Many scores into one sensor: the mean, pulled halfway to the worst. A plain mean would let one
 * stale feed among six vanish (0.92, GREEN); the minimum alone would make one stale feed as bad
 * as everything stale. One stale source of six → 0.71 (DEGRADED), one dead → 0.42 (CRITICAL).
 */
export function blend(scores: readonly number[]): number {
  if (scores.length === 0) return 1;
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  return (mean + Math.min(...scores)) / 2;
}

/** rm_meta → status: > 0.8 GREEN, > 0.5 DEGRADED, > 0.2 CRITICAL, else DEAD. */
export function statusOf(rm: number): HealthStatus {
  if (rm > 0.8) return 'GREEN';
  if (rm > 0.5) return 'DEGRADED';
  return rm > 0.2 ? 'CRITICAL' : 'DEAD';
}

const ORDER: readonly HealthStatus[] = ['GREEN', 'DEGRADED', 'CRITICAL', 'DEAD'];
/** The worse of two statuses. */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** One process as meta-health sees it: from the supervisor or systemd, and its heartbeat. */
export interface ProcessObservation {
  name: string;
  critical: boolean;
  /** running; starting/backoff (being restarted); stopped; failed; scheduled (waiting for its time); unknown (no process view). */
  state: 'running' | 'starting' | 'backoff' | 'stopping' | 'stopped' | 'failed' | 'scheduled' | 'unknown';
  /**
   * Runs at its schedule's times, to completion (the daily batch): not running is its normal
   * state, so it never counts against M1, nor against M2 unless a run is going.
   */
  scheduled?: boolean;
  /** Meant to run: false when a person stopped it. */
  wanted: boolean;
  pid: number | undefined;
  /** Writes DOLPHIN_HEARTBEAT[name]. */
  beats: boolean;
  heartbeat: { ageMs: number; pid: number; state: string } | undefined;
  restarts: number;
}

/** One data source of DESIGN.md §6. */
export interface SourceObservation {
  name: string;
  /** scan and the indicator feeds come from outside; safety and state are Dolphin's own. */
  external: boolean;
  /** Age of its timestamp field; undefined when absent or unreadable. */
  ageMs: number | undefined;
  /** Sealed by Dolphin, parses, not dated in the future, passes the contract; undefined when there is no value. */
  valid: boolean | undefined;
  problem?: string;
  /** Valid, but saying something is wrong (the trader halted, scans it could not decide): counts half in M5. */
  warning?: string;
}

export interface Observation {
  processes: ProcessObservation[];
  sources: SourceObservation[];
  /** The cluster answers (the owned member's health check, or the client's connection). */
  hazelcast: boolean;
  /** Dolphin's own ports (supervisor control, /metrics): name → answers. */
  ports: Record<string, boolean>;
}

export interface Sensors {
  m1_proc: number;
  m2_heartbeat: number;
  m3_data_freshness: number;
  m4_control_plane: number;
  m5_coherence: number;
  rm_meta: number;
  status: HealthStatus;
  processes: Record<string, { score: number; status: string; state: string; pid?: number; heartbeat_age_s?: number; restarts: number }>;
  data_sources: Record<string, { score: number; status: Freshness | 'invalid' | 'degraded'; age_s?: number; external: boolean; problem?: string }>;
  ports: Record<string, boolean>;
}

/** The sensors, rm_meta and its status from one observation. */
export function score(o: Observation): Sensors {
  const critical = o.processes.filter((p) => p.critical && p.wanted && !p.scheduled);
  const m1 = critical.length === 0 ? 1 : critical.filter((p) => p.state === 'running').length / critical.length;
  const beating = o.processes.filter((p) => p.beats && p.wanted && p.state !== 'stopped' && (!p.scheduled || p.state === 'running'));
  const beatScores = beating.map((p) => heartbeatScore(p.heartbeat?.ageMs));
  const m2 = blend(beatScores);
  const fresh = o.sources.map((s) => ({ s, f: freshness(s.ageMs) }));
  const m3 = blend(fresh.map((x) => x.f.score));
  const ports = Object.values(o.ports);
  const m4 = (o.hazelcast ? 1 : 0) * (ports.length === 0 ? 1 : ports.filter(Boolean).length / ports.length);
  const m5 = blend(o.sources.filter((s) => s.valid !== undefined).map((s) => (!s.valid ? 0 : s.warning ? 0.5 : 1)));
  const rm = m1 * m2 * m3 * m4 * m5;

  const processes: Sensors['processes'] = {};
  for (const p of o.processes) {
    // Between its runs a scheduled entry is as it should be.
    const waiting = p.scheduled === true && (p.state === 'scheduled' || p.state === 'stopped');
    const hb = p.beats && p.state !== 'stopped' && !waiting ? heartbeatScore(p.heartbeat?.ageMs) : 1;
    const up = p.state === 'running' || waiting ? 1 : 0;
    const s = Math.min(up, hb);
    const status = !p.wanted ? 'stopped by request'
      : p.state === 'failed' ? 'FAILED'
        : waiting ? 'scheduled'
          : p.state !== 'running' ? p.state
            : hb === 1 ? 'ok' : p.heartbeat === undefined ? 'no heartbeat' : `heartbeat ${Math.round((p.heartbeat.ageMs) / 1000)} s old`;
    processes[p.name] = {
      score: s, status, state: p.state, restarts: p.restarts,
      ...(p.pid !== undefined ? { pid: p.pid } : {}),
      ...(p.heartbeat ? { heartbeat_age_s: Math.round(p.heartbeat.ageMs / 100) / 10 } : {}),
    };
  }
  const data_sources: Sensors['data_sources'] = {};
  for (const { s, f } of fresh) {
    const degraded = s.valid === true && s.warning !== undefined;
    data_sources[s.name] = {
      score: s.valid === false ? 0 : degraded ? Math.min(f.score, 0.5) : f.score,
      status: s.valid === false ? 'invalid' : degraded ? 'degraded' : f.status, external: s.external,
      ...(s.ageMs !== undefined ? { age_s: Math.round(s.ageMs / 100) / 10 } : {}),
      ...(s.problem ? { problem: s.problem } : degraded ? { problem: s.warning } : {}),
    };
  }
  return {
    m1_proc: round(m1), m2_heartbeat: round(m2), m3_data_freshness: round(m3), m4_control_plane: round(m4), m5_coherence: round(m5),
    rm_meta: round(rm), status: statusOf(round(rm)), processes, data_sources, ports: o.ports,
  };
}
