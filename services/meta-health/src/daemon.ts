import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Ringbuffer } from 'hazelcast-client';
import { isoMicros, Keys, MetaHealthFiles, metaHealthSchema, RingbufferNames, type HealthStatus, type Logger, type MetaHealth, type MetaHealthConfig } from '@dolphin/core';
import { withTimeout, type TypedMap } from '@dolphin/hz';
import { JsonStateFile, Watchdog } from '@dolphin/service-kit';
import type { MetaHealthMetrics } from './metrics.ts';
import type { Observer } from './observe.ts';
import type { ProcessView } from './process-view.ts';
import { RecoveryPlanner, recoveryMemorySchema, type RecoveryAction } from './recovery.ts';
import { score, worse } from './sensors.ts';
import { WarmUp } from './warm-up.ts';

/** The history of DOLPHIN_META_HEALTH["latest"], one entry a cycle. */
export const META_HEALTH_HISTORY = RingbufferNames.META_HEALTH_HISTORY;
export const META_HEALTH_FILE = MetaHealthFiles.LATEST;
/** `dolphin health --reset [target]` leaves this file; the next cycle resets the budgets and removes it. */
export const RESET_FILE = MetaHealthFiles.RESET;

export interface DaemonOptions {
  cfg: MetaHealthConfig;
  stateDir: string;
  observer: Observer;
  view: ProcessView;
  logger: Logger;
  metrics?: MetaHealthMetrics;
  /** Resolved lazily: the cluster may be away when meta-health starts. */
  latest: () => Promise<TypedMap<MetaHealth>>;
  history: () => Promise<Ringbuffer<string>>;
}

/** One health record: what DOLPHIN_META_HEALTH["latest"] and meta_health.json hold. */
export type HealthRecord = MetaHealth & Record<string, unknown>;

/**
 * The meta-health cycle: observe → score → decide recovery → act → publish (map, history,
 * file) → pet systemd's watchdog. The file is written every cycle, so an operator can read
 * health while Hazelcast is down. After a start it waits for its inputs (WarmUp): until then a
 * cycle only observes and pets the watchdog.
 */
export class MetaHealthDaemon {
  private readonly o: DaemonOptions;
  private readonly planner: RecoveryPlanner;
  private readonly memory: JsonStateFile<typeof recoveryMemorySchema>;
  private readonly watchdog = new Watchdog();
  private readonly warmUp: WarmUp;
  private saidWaiting = false;
  private lastStatus: HealthStatus | undefined;
  private readonly recent: Array<RecoveryAction & { at: string; outcome: string }> = [];
  private latestRecord: HealthRecord | undefined;

  constructor(options: DaemonOptions) {
    this.o = options;
    this.memory = new JsonStateFile(options.stateDir, 'meta-health.recovery.json', recoveryMemorySchema, 'recovery memory unreadable; budgets start over');
    this.planner = new RecoveryPlanner(options.cfg, this.memory.load(options.logger));
    this.warmUp = new WarmUp(options.cfg.warmUpMs, Date.now());
  }

  get last(): HealthRecord | undefined {
    return this.latestRecord;
  }

  /** The recovery budgets and backoffs (also in meta-health.recovery.json). */
  get recoveryState() {
    return this.planner.state;
  }

  /** What a dev-mode restart carries: budgets, the recent recovery actions, the last record and status. */
  get restartState(): { recovery: unknown; recent: unknown[]; lastStatus: HealthStatus | undefined; last: HealthRecord | undefined } {
    return { recovery: this.planner.state, recent: [...this.recent], lastStatus: this.lastStatus, last: this.latestRecord };
  }

  restoreState(s: { recovery?: unknown; recent?: unknown[]; lastStatus?: HealthStatus; last?: HealthRecord }): void {
    if (s.recovery !== undefined && !this.planner.restore(s.recovery)) this.o.logger.warn('restored recovery budgets are invalid; kept the ones on file');
    if (Array.isArray(s.recent)) this.recent.splice(0, this.recent.length, ...(s.recent as typeof this.recent).slice(-50));
    this.lastStatus = s.lastStatus;
    this.latestRecord = s.last;
  }

  private takeReset(): void {
    const file = path.join(this.o.stateDir, RESET_FILE);
    if (!existsSync(file)) return;
    const target = readFileSync(file, 'utf8').trim() || undefined;
    rmSync(file, { force: true });
    this.planner.reset(target);
    this.memory.saveSync(this.planner.state);
    this.o.logger.warn({ target: target ?? 'all' }, `recovery budget reset by an operator (${target ?? 'every target'})`);
  }

  /** One cycle; undefined while it still waits for its inputs (nothing judged, published or done). */
  async cycle(): Promise<HealthRecord | undefined> {
    const t0 = performance.now();
    const now = Date.now();
    this.takeReset();
    const { observation, ownMember, clusterRead } = await this.o.observer.observe(now);
    if (!this.judging(clusterRead, now)) {
      this.watchdog.pet();
      return undefined;
    }
    const sensors = score(observation);
    const actions = this.o.cfg.recoveryVia === 'none' ? [] : this.planner.plan(observation, now, ownMember).filter((a) => this.o.view.restartable?.(a.target) ?? true);
    for (const target of this.planner.spent()) {
      if (this.planner.spentJustNow(target, now)) {
        this.o.logger.error({ target, max: this.o.cfg.budget.max, windowMs: this.o.cfg.budget.windowMs },
          `recovery budget for ${target} spent (${this.o.cfg.budget.max} restarts within ${Math.round(this.o.cfg.budget.windowMs / 60_000)} min): no more restarts of it until an operator acts (dolphin health --reset ${target})`);
      }
    }
    for (const a of actions) await this.act(a, now);
    if (actions.length > 0 || this.planner.spent().length > 0) this.memory.saveSync(this.planner.state);

    const spent = this.planner.spent();
    const status = spent.length > 0 ? worse(sensors.status, 'CRITICAL') : sensors.status;
    const record: HealthRecord = {
      rm_meta: sensors.rm_meta,
      status,
      m1_proc: sensors.m1_proc,
      m2_heartbeat: sensors.m2_heartbeat,
      m3_data_freshness: sensors.m3_data_freshness,
      m4_control_plane: sensors.m4_control_plane,
      m5_coherence: sensors.m5_coherence,
      subsystem_health: { processes: sensors.processes, data_sources: sensors.data_sources },
      timestamp: isoMicros(),
      hazelcast: observation.hazelcast,
      ports: sensors.ports,
      process_view: this.o.view.kind,
      recovery: { via: this.o.view.kind, spent, recent: this.recent.slice(-10) },
      cycle_ms: 0,
    };
    if (status !== this.lastStatus) {
      const line = `health ${this.lastStatus ?? 'unknown'} → ${status} (rm_meta ${sensors.rm_meta})`;
      if (status === 'GREEN') this.o.logger.info({ sensors: summary(record) }, line);
      else this.o.logger.warn({ sensors: summary(record) }, line);
      this.lastStatus = status;
    }
    record.cycle_ms = Math.round((performance.now() - t0) * 10) / 10;
    await this.publish(record);
    this.latestRecord = record;
    this.o.metrics?.observe(record, (performance.now() - t0) / 1000);
    this.watchdog.pet();
    return record;
  }

  /** The warm-up's verdict, said once while waiting and once when judging begins. */
  private judging(clusterRead: boolean, now: number): boolean {
    const { warmUpMs } = this.o.cfg;
    const waited = this.warmUp.waitedMs !== undefined;
    if (this.warmUp.judging(clusterRead, now)) {
      if (!waited && this.saidWaiting) {
        const ms = this.warmUp.waitedMs;
        this.o.logger.info({ waitedMs: ms, clusterRead }, clusterRead ? `inputs read after ${ms} ms: judging` : `cluster not read within ${warmUpMs} ms: judging what it sees`);
      }
      return true;
    }
    if (!this.saidWaiting) {
      this.saidWaiting = true;
      this.o.logger.info({ warmUpMs }, `waiting for its inputs: no health record and no recovery until it has read the cluster (heartbeats and data sources), or for ${warmUpMs} ms`);
    }
    return false;
  }

  private async act(a: RecoveryAction, now: number): Promise<void> {
    this.planner.done(a.target, now);
    let outcome = 'asked';
    try {
      await this.o.view.restart(a.target);
      this.o.logger.warn({ target: a.target, reason: a.reason, detail: a.detail, via: this.o.view.kind }, `recovery: restarting ${a.target} (${a.reason}: ${a.detail})`);
    } catch (err) {
      outcome = `failed: ${(err as Error).message}`;
      this.o.logger.error({ err, target: a.target, reason: a.reason }, `recovery: could not restart ${a.target}`);
    }
    this.o.metrics?.recoveries.inc({ target: a.target, reason: a.reason });
    this.recent.push({ ...a, at: isoMicros(now * 1e6), outcome });
    if (this.recent.length > 50) this.recent.shift();
  }

  /** The file every cycle (atomic), then the map and its history when the cluster is there. */
  private async publish(record: HealthRecord): Promise<void> {
    const file = path.join(this.o.stateDir, META_HEALTH_FILE);
    const text = JSON.stringify(metaHealthSchema.parse(record));
    try {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.o.logger.warn({ err, file }, 'could not write meta_health.json');
    }
    // Tried every cycle, even when M4 says the member does not answer (the record says so too),
    // with a short bound: a hung member must not hold the cycle.
    const bound = this.o.cfg.probeTimeoutMs * 3;
    try {
      const latest = await withTimeout(this.o.latest(), bound, 'open DOLPHIN_META_HEALTH');
      // Sealed like every value Dolphin writes; the history carries the same text.
      const sealed = latest.sealEncoded(Keys.META_HEALTH_LATEST, text);
      await withTimeout(latest.setEncoded(Keys.META_HEALTH_LATEST, sealed), bound, 'publish health');
      await withTimeout(this.o.history().then((h) => h.add(sealed)), bound, 'append health history');
    } catch (err) {
      this.o.logger.debug({ err }, 'could not publish health to Hazelcast this cycle');
    }
  }
}

function summary(r: HealthRecord) {
  return { m1: r.m1_proc, m2: r.m2_heartbeat, m3: r.m3_data_freshness, m4: r.m4_control_plane, m5: r.m5_coherence };
}
