import type { IMap } from 'hazelcast-client';
import { formatIssues, Keys, MapNames, schemaFor, sealPlace, type MapName, type TraderState } from '@dolphin/core';
import { openText, portAnswers, sealingOf, withTimeout, type HzConnection, type Sealing } from '@dolphin/hz';
import type { ProcessInfo, ProcessView } from './process-view.ts';
import type { Observation, ProcessObservation, SourceObservation } from './sensors.ts';

/** The data sources of DESIGN.md §6: where each lives and which field dates it. */
export const DATA_SOURCES: ReadonlyArray<{ name: string; map: MapName; key: string; field: string; external: boolean }> = [
  { name: 'scan', map: MapNames.FEATURES, key: Keys.LATEST_EIGEN_SCAN, field: 'bridge_ts', external: true },
  { name: 'obf', map: MapNames.FEATURES, key: Keys.OB_FEATURES_LATEST, field: '_pushed_at', external: true },
  { name: 'extf', map: MapNames.FEATURES, key: Keys.EXF_LATEST, field: '_pushed_at', external: true },
  { name: 'esof', map: MapNames.FEATURES, key: Keys.ESOF_LATEST, field: '_pushed_at', external: true },
  { name: 'safety', map: MapNames.SAFETY, key: Keys.SAFETY_LATEST, field: 'ts', external: false },
  { name: 'state', map: MapNames.STATE_BLUE, key: Keys.STATE_LATEST, field: 'updated_at', external: false },
];

/** A recorded gap keeps the state's coherence down (DEGRADED) this long after it was found. */
export const GAP_WARN_MS = 15 * 60_000;

export interface JudgeOptions {
  /** Checks the value's seal (without a key, values are taken as they are). */
  sealing: Sealing;
  /** A timestamp further ahead of the clock than this is not believed. */
  maxClockSkewMs: number;
  now: number;
}

/**
 * A stored value judged against the contract: its age by its timestamp field, whether it is
 * valid (sealed by Dolphin, JSON, not dated in the future, meeting its schema), and what it says
 * about itself that is worth a warning (the trader halted, or scans it could not decide).
 */
export function judgeValue(map: MapName, key: string, field: string, text: string | null | undefined, o: JudgeOptions): Pick<SourceObservation, 'ageMs' | 'valid' | 'problem' | 'warning'> {
  if (text === null || text === undefined) return { ageMs: undefined, valid: undefined };
  let opened: string;
  try {
    opened = openText(o.sealing, sealPlace(map, key), text);
  } catch (err) {
    return { ageMs: undefined, valid: false, problem: (err as Error).message };
  }
  let data: unknown;
  try {
    data = JSON.parse(opened);
  } catch (err) {
    return { ageMs: undefined, valid: false, problem: `not JSON (${(err as Error).message})` };
  }
  const ts = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[field] : undefined;
  const at = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  // A value from the future would never go stale: not believed.
  if (Number.isFinite(at) && at - o.now > o.maxClockSkewMs) {
    return { ageMs: undefined, valid: false, problem: `${field} is ${Math.round((at - o.now) / 1000)} s ahead of this host's clock (security.maxClockSkewMs ${o.maxClockSkewMs})` };
  }
  const ageMs = Number.isFinite(at) ? Math.max(0, o.now - at) : undefined;
  const parsed = schemaFor(map, key).safeParse(data);
  if (!parsed.success) return { ageMs, valid: false, problem: formatIssues(parsed.error.issues).join('; ') };
  const warning = map === MapNames.STATE_BLUE ? traderWarning(parsed.data as TraderState, o.now) : undefined;
  return warning ? { ageMs, valid: true, warning } : { ageMs, valid: true };
}

/** The trader says it is halted (its ledger cannot be written), or that scans could not be decided lately. */
export function traderWarning(state: TraderState, now: number): string | undefined {
  if (state.halted) return `trader halted since ${state.halted.since}: ${state.halted.reason}`;
  const gapAt = state.last_gap_at ? Date.parse(state.last_gap_at) : Number.NaN;
  if (Number.isFinite(gapAt) && now - gapAt < GAP_WARN_MS) {
    return `${state.scans_missed ?? '?'} scan(s) could not be decided in all (the last gap recorded ${Math.round((now - gapAt) / 60_000)} min ago; the ledger's gaps table says why)`;
  }
  return undefined;
}

export interface ObserverOptions {
  view: ProcessView;
  hz: HzConnection;
  /** The member's health check, asked when the process manager runs a member (Dolphin owns it). */
  memberHealthUrl: string;
  probeTimeoutMs: number;
  /** Timestamps further ahead of the clock than this are not believed (security.maxClockSkewMs). */
  maxClockSkewMs: number;
}

/**
 * Gathers one Observation: the processes (from the process manager) with their heartbeats, the
 * six data sources, whether Hazelcast answers and whether Dolphin's own ports do. Every read
 * has a short timeout, and while Hazelcast is away nothing waits on it: the cycle goes on with
 * what it can see.
 */
export class Observer {
  private readonly o: ObserverOptions;
  private readonly maps = new Map<string, IMap<string, string>>();
  private readonly sealing: Sealing;

  constructor(options: ObserverOptions) {
    this.o = options;
    this.sealing = sealingOf(options.hz);
  }

  private async map(name: string): Promise<IMap<string, string>> {
    let m = this.maps.get(name);
    if (!m) {
      m = await withTimeout(this.o.hz.client.getMap<string, string>(name), this.o.probeTimeoutMs * 3, `open ${name}`);
      this.maps.set(name, m);
    }
    return m;
  }

  private async hazelcastAnswers(ownMember: boolean): Promise<boolean> {
    if (!ownMember) return this.o.hz.isConnected();
    try {
      const res = await fetch(this.o.memberHealthUrl, { signal: AbortSignal.timeout(this.o.probeTimeoutMs * 3) });
      await res.body?.cancel();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** The raw values of the data sources and the heartbeats; empty when the cluster cannot be read. */
  private async readCluster(): Promise<{ values: Map<string, string | null>; beats: Map<string, string> } | undefined> {
    if (!this.o.hz.isConnected()) return undefined;
    const t = this.o.probeTimeoutMs * 3;
    try {
      const features = await this.map(MapNames.FEATURES);
      const [feat, safety, state, beats] = await Promise.all([
        withTimeout(features.getAll(DATA_SOURCES.filter((s) => s.map === MapNames.FEATURES).map((s) => s.key)), t, 'read DOLPHIN_FEATURES'),
        withTimeout((await this.map(MapNames.SAFETY)).get(Keys.SAFETY_LATEST), t, 'read DOLPHIN_SAFETY'),
        withTimeout((await this.map(MapNames.STATE_BLUE)).get(Keys.STATE_LATEST), t, 'read DOLPHIN_STATE_BLUE'),
        withTimeout((await this.map(MapNames.HEARTBEAT)).entrySet(), t, 'read DOLPHIN_HEARTBEAT'),
      ]);
      const values = new Map<string, string | null>(feat.map(([k, v]) => [k, v]));
      values.set(`${MapNames.SAFETY}/${Keys.SAFETY_LATEST}`, safety);
      values.set(`${MapNames.STATE_BLUE}/${Keys.STATE_LATEST}`, state);
      return { values, beats: new Map(beats) };
    } catch {
      return undefined;
    }
  }

  /** `ownMember`: the process manager runs a member, so it is Dolphin's (to check and to restart). */
  async observe(now = Date.now()): Promise<{ observation: Observation; ownMember: boolean; clusterRead: boolean }> {
    const [processes, cluster] = await Promise.all([this.o.view.processes(), this.readCluster()]);
    const ownMember = processes?.some((p) => p.name === 'member') ?? false;
    const hazelcast = await this.hazelcastAnswers(ownMember);
    const sources: SourceObservation[] = DATA_SOURCES.map((s) => {
      const text = cluster?.values.get(s.map === MapNames.FEATURES ? s.key : `${s.map}/${s.key}`);
      return { name: s.name, external: s.external, ...judgeValue(s.map, s.key, s.field, text, { sealing: this.sealing, maxClockSkewMs: this.o.maxClockSkewMs, now }) };
    });
    const procs: ProcessObservation[] = (processes ?? []).map((p) => {
      const raw = cluster?.beats.get(p.name);
      let heartbeat: ProcessObservation['heartbeat'];
      if (raw !== undefined) {
        try {
          // A heartbeat not sealed by Dolphin is no heartbeat (refused, and counted).
          const b = JSON.parse(openText(this.sealing, sealPlace(MapNames.HEARTBEAT, p.name), raw)) as { ts?: string; pid?: number; state?: string };
          const at = Date.parse(b.ts ?? '');
          if (Number.isFinite(at) && at - now <= this.o.maxClockSkewMs) heartbeat = { ageMs: Math.max(0, now - at), pid: b.pid ?? 0, state: b.state ?? '?' };
        } catch { /* M5 does not judge heartbeats; an unreadable one counts as absent */ }
      }
      // Without a process manager, a fresh heartbeat saying "running" is the evidence it runs.
      const state = p.state === 'unknown' ? (heartbeat && heartbeat.ageMs < 30_000 && heartbeat.state === 'running' ? 'running' : 'stopped') : p.state;
      return { ...p, state, pid: p.pid ?? heartbeat?.pid, heartbeat };
    });
    const ports: Record<string, boolean> = {};
    const checks: Array<Promise<void>> = [];
    const control = this.o.view.controlPort();
    if (control !== undefined) checks.push(portAnswers('127.0.0.1', control, this.o.probeTimeoutMs).then((ok) => { ports.supervisor = ok; }));
    // A process that is down is M1's business; M4 asks whether the running ones answer.
    for (const p of processes ?? []) {
      if (p.metricsPort > 0 && p.state === 'running') checks.push(portAnswers('127.0.0.1', p.metricsPort, this.o.probeTimeoutMs).then((ok) => { ports[p.name] = ok; }));
    }
    await Promise.all(checks);
    return { observation: { processes: procs, sources, hazelcast, ports }, ownMember, clusterRead: cluster !== undefined };
  }
}
