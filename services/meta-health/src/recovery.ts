import { z } from 'zod';
import type { MetaHealthConfig } from '@dolphin/core';
import type { Observation } from './sensors.ts';

/** Why a target is restarted. */
export type RecoveryReason = 'member-down' | 'frozen' | 'dead';

export interface RecoveryAction {
  target: string;
  reason: RecoveryReason;
  detail: string;
}

/** What recovery remembers per target, kept across meta-health's own restarts. */
export const recoveryMemorySchema = z.strictObject({
  targets: z.record(z.string(), z.strictObject({
    /** When each recovery restart happened (epoch ms), within the budget window. */
    attempts: z.array(z.number()),
    /** No restart before this (the backoff after the last one). */
    notBefore: z.number(),
    /** Set when the budget ran out: nothing more until a person resets it. */
    spentAt: z.number().optional(),
  })),
});
export type RecoveryMemory = z.infer<typeof recoveryMemorySchema>;

/** How long a condition has held, per target: restarts wait until it has lasted. */
class Since {
  private readonly at = new Map<string, number>();
  hold(key: string, now: number, on: boolean): number {
    if (!on) {
      this.at.delete(key);
      return 0;
    }
    const t = this.at.get(key) ?? now;
    this.at.set(key, t);
    return now - t;
  }
}

/**
 * Decides what to restart, and only what Dolphin owns: the member when it stops answering, a
 * service whose process runs but whose heartbeat has stopped (frozen), a critical service that
 * is down and that nothing is restarting (dead). A stale or dead data source is never a target:
 * a missing NG scanner or a broken feed is reported, not "fixed" by restarting Dolphin. Each
 * target has a backoff between restarts and a budget within a window; once spent, recovery
 * stops for that target, says so plainly (status CRITICAL) and waits for a person.
 */
export class RecoveryPlanner {
  private readonly cfg: MetaHealthConfig;
  private memory: RecoveryMemory;
  private readonly since = new Since();
  /** Hazelcast has answered since this time (heartbeats cannot be judged while the bus is down). */
  private hazelcastUpSince: number | undefined;

  constructor(cfg: MetaHealthConfig, memory: RecoveryMemory = { targets: {} }) {
    this.cfg = cfg;
    this.memory = memory;
  }

  get state(): RecoveryMemory {
    return this.memory;
  }

  /** Budgets and backoffs a previous process had (a dev-mode restart); invalid input is ignored. */
  restore(memory: unknown): boolean {
    const m = recoveryMemorySchema.safeParse(memory);
    if (m.success) this.memory = m.data;
    return m.success;
  }

  /** Targets whose budget is spent: nothing more is done for them until `reset`. */
  spent(): string[] {
    return Object.entries(this.memory.targets).filter(([, t]) => t.spentAt !== undefined).map(([k]) => k);
  }

  /** A person acted (dolphin health --reset): budgets and backoffs start over. */
  reset(target?: string): void {
    if (target === undefined) this.memory = { targets: {} };
    else delete this.memory.targets[target];
  }

  /**
   * The restarts due now. `ownMember`: the member is Dolphin's to restart (not a cluster it
   * joined). Call `done` for each action carried out.
   */
  plan(o: Observation, now: number, ownMember: boolean): RecoveryAction[] {
    const { frozenAfterMs, memberDownAfterMs, deadAfterMs } = this.cfg;
    if (o.hazelcast) this.hazelcastUpSince ??= now;
    else this.hazelcastUpSince = undefined;
    const candidates: RecoveryAction[] = [];

    const member = o.processes.find((p) => p.name === 'member');
    // Not while the supervisor (or systemd) is already starting it, nor once it gave up (FAILED).
    const memberHandled = member !== undefined && (member.state === 'starting' || member.state === 'backoff' || member.state === 'stopping' || member.state === 'failed' || !member.wanted);
    const memberDownFor = this.since.hold('member', now, ownMember && member !== undefined && !o.hazelcast && !memberHandled);
    if (memberDownFor >= memberDownAfterMs) {
      candidates.push({ target: 'member', reason: 'member-down', detail: `Hazelcast has not answered for ${Math.round(memberDownFor / 1000)} s while the member process is ${member?.state}` });
    }

    // Heartbeats say nothing while Hazelcast is down, nor for a while after it came back.
    const busUpFor = this.hazelcastUpSince === undefined ? 0 : now - this.hazelcastUpSince;
    for (const p of o.processes) {
      // A scheduled entry runs to completion at its times: down between them, and its own timer's to run.
      if (p.name === 'member' || p.scheduled) continue;
      const eligible = p.beats && p.wanted && p.state === 'running' && busUpFor >= frozenAfterMs;
      const stale = p.heartbeat !== undefined && p.heartbeat.pid === p.pid && p.heartbeat.ageMs > frozenAfterMs;
      // No beat from this process yet: it may have just started, so that must last too.
      const absentFor = this.since.hold(`absent:${p.name}`, now, eligible && (p.heartbeat === undefined || p.heartbeat.pid !== p.pid));
      if (eligible && (stale || absentFor >= frozenAfterMs)) {
        const what = stale ? `heartbeat ${Math.round((p.heartbeat?.ageMs ?? 0) / 1000)} s old` : `no heartbeat from it for ${Math.round(absentFor / 1000)} s`;
        candidates.push({ target: p.name, reason: 'frozen', detail: `process ${p.pid} runs but does not beat (${what})` });
        continue;
      }
      const dead = p.critical && p.wanted && p.state === 'stopped';
      const deadFor = this.since.hold(`dead:${p.name}`, now, dead);
      if (dead && deadFor >= deadAfterMs) candidates.push({ target: p.name, reason: 'dead', detail: `critical and down for ${Math.round(deadFor / 1000)} s with nothing restarting it` });
    }
    return candidates.filter((a) => this.allowed(a.target, now));
  }

  /** Within budget and past its backoff; marks the budget spent when it has run out. */
  private allowed(target: string, now: number): boolean {
    const t = this.memory.targets[target] ?? { attempts: [], notBefore: 0 };
    this.memory.targets[target] = t;
    if (t.spentAt !== undefined) return false;
    t.attempts = t.attempts.filter((a) => now - a < this.cfg.budget.windowMs);
    if (t.attempts.length >= this.cfg.budget.max) {
      t.spentAt = now;
      return false;
    }
    return now >= t.notBefore;
  }

  /** Record a restart carried out for `target` at `now`. */
  done(target: string, now: number): void {
    const t = this.memory.targets[target] ?? { attempts: [], notBefore: 0 };
    t.attempts.push(now);
    const { initialMs, multiplier, maxMs } = this.cfg.backoff;
    t.notBefore = now + Math.min(maxMs, initialMs * multiplier ** (t.attempts.length - 1));
    this.memory.targets[target] = t;
    this.since.hold(target, now, false);
    this.since.hold(`absent:${target}`, now, false);
    this.since.hold(`dead:${target}`, now, false);
  }

  /** Was the budget of `target` spent just now (for the one clear log line)? */
  spentJustNow(target: string, now: number): boolean {
    return this.memory.targets[target]?.spentAt === now;
  }
}
