import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isoMicros, makeError, type Logger } from '@dolphin/core';
import { HzErrors } from './errors.ts';
import { openMap, type TypedMap } from './typed-map.ts';
import { withTimeout } from './timeout.ts';
import type { HzConnection } from './client-factory.ts';

/**
 * One active, the others standby: a lease per role in DOLPHIN_LEADERSHIP, moved only by
 * compare-and-set (IMap replaceIfSame(key, old, new) and putIfAbsent, atomic on the partition owner).
 * Why this and not FencedLock, and the timing argument: docs/cluster.md "Leadership".
 *
 * The entry is never deleted and has no TTL: it carries the epoch (fencing token), so the epoch
 * survives every change of holder. "Expired" is judged by each standby's own monotonic clock
 * (the value unchanged for a whole TTL), never by comparing wall clocks across hosts.
 */
export const LEADERSHIP_MAP = 'DOLPHIN_LEADERSHIP';

export const leaseSchema = z.object({
  role: z.string().min(1),
  /** The fencing token: grows on every change of holder, never reused. */
  epoch: z.number().int().positive(),
  /** The candidate holding the lease; null once it released it (a standby may take it at once). */
  holder: z.string().min(1).nullable(),
  /** Renewals within this epoch: every renewal writes a text never written before. */
  seq: z.number().int().nonnegative(),
  /** The holder's TTL: a standby waits at least this long (and at least its own). */
  ttl_ms: z.number().int().positive(),
  host: z.string(),
  pid: z.number().int(),
  /** The writer's wall clock, for people only: nothing decides by it. */
  ts: z.string(),
}).strict();
export type Lease = z.infer<typeof leaseSchema>;

export type DemotionReason = 'expired' | 'lost' | 'stopped';

export interface LeadershipOptions {
  /** What is led, e.g. 'scan-bridge', 'trader-BLUE': the key in DOLPHIN_LEADERSHIP. */
  role: string;
  /** Lease time to live (default 3000 ms). */
  ttlMs?: number;
  /** Renewal period of the holder (default TTL/3). */
  renewEveryMs?: number;
  /** The holder stops acting this long before its lease could have expired (default TTL/6). */
  safetyMarginMs?: number;
  /** A standby reads the lease this often, besides the entry listener (default TTL/3). */
  pollEveryMs?: number;
  logger: Logger;
  /** Called when this candidate becomes leader, with its fresh epoch. */
  onElected?: (epoch: number) => void;
  /** Called when it stops being leader (its deadline passed, another took the lease, or stop()). */
  onDemoted?: (reason: DemotionReason, epoch: number) => void;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

export interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  safetyMarginMs: number;
  pollEveryMs: number;
}

const ROLE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The timing with its defaults, checked: the holder renews well before it stops acting. */
export function leaseTiming(o: Partial<LeaseTiming> & { role: string }): LeaseTiming {
  const ttlMs = o.ttlMs ?? 3_000;
  const t: LeaseTiming = {
    ttlMs,
    renewEveryMs: o.renewEveryMs ?? Math.round(ttlMs / 3),
    safetyMarginMs: o.safetyMarginMs ?? Math.round(ttlMs / 6),
    pollEveryMs: o.pollEveryMs ?? Math.round(ttlMs / 3),
  };
  const problems: string[] = [];
  if (!ROLE.test(o.role)) problems.push(`role "${o.role}" must be 1-64 letters, digits, '.', '_' or '-'`);
  if (!Number.isInteger(t.ttlMs) || t.ttlMs < 100) problems.push(`ttlMs ${t.ttlMs} must be an integer ≥ 100`);
  if (!(t.safetyMarginMs > 0 && t.safetyMarginMs < t.ttlMs / 2)) problems.push(`safetyMarginMs ${t.safetyMarginMs} must be > 0 and < ttlMs/2`);
  // At least two renewals fit before the holder's deadline, so one slow or lost renewal does not demote it.
  if (!(t.renewEveryMs > 0 && 2 * t.renewEveryMs <= t.ttlMs - t.safetyMarginMs)) problems.push(`renewEveryMs ${t.renewEveryMs} must be > 0 and ≤ (ttlMs - safetyMarginMs)/2`);
  if (!(t.pollEveryMs > 0 && t.pollEveryMs <= t.ttlMs)) problems.push(`pollEveryMs ${t.pollEveryMs} must be > 0 and ≤ ttlMs`);
  if (problems.length > 0) throw makeError(HzErrors.DOLPHIN_HZ_LEADERSHIP_OPTIONS, `leadership "${o.role}": ${problems.join('; ')}`);
  return t;
}

/** Until when (monotonic ms) a holder whose write was sent at `sentAt` may act. */
export function leaderUntil(sentAt: number, t: Pick<LeaseTiming, 'ttlMs' | 'safetyMarginMs'>): number {
  return sentAt + t.ttlMs - t.safetyMarginMs;
}

/** What a standby has seen of the lease: its exact text, and when (its own monotonic clock) it first got that text. */
export interface Sighting {
  text: string;
  since: number;
}

/**
 * Whether a standby may try to take the lease now. A released lease (or one this candidate holds
 * itself) at once; a held one only when the same text has been in the map for a whole TTL (the
 * larger of ours and the holder's) by our clock, counted from when we RECEIVED it: the holder sent
 * that write before we received it, so it stopped acting at least `safetyMargin` before this.
 */
export function mayTakeOver(sighting: Sighting, lease: Lease | undefined, me: string, now: number, ttlMs: number): boolean {
  if (lease && (lease.holder === null || lease.holder === me)) return true;
  const wait = Math.max(ttlMs, lease?.ttl_ms ?? 0);
  return now - sighting.since >= wait;
}

/**
 * The epoch of the next holder. Normally the last one + 1. With no lease in the map (a new
 * cluster, or the entry lost with a whole cluster) it starts from the wall clock in ms, so it
 * stays above any epoch the lost cluster handed out as long as the hosts' clocks agree within
 * the downtime; `lastKnown` (the highest this process has seen) covers its own history.
 */
export function nextEpoch(current: number | undefined, lastKnown: number, wallMs: number): number {
  if (current !== undefined) return Math.max(current, lastKnown) + 1;
  return Math.max(Math.floor(wallMs), lastKnown + 1);
}

/**
 * For a reader or the ledger: true when a value written under `incomingEpoch` must be refused
 * because a newer leader (`currentEpoch`, the highest accepted so far) has written already.
 */
export function refuseOlderEpoch(currentEpoch: number | undefined, incomingEpoch: number): boolean {
  return currentEpoch !== undefined && incomingEpoch < currentEpoch;
}

/** Throws DOLPHIN_HZ_STALE_EPOCH naming `place` when refuseOlderEpoch says so. */
export function assertEpochNotOlder(place: string, currentEpoch: number | undefined, incomingEpoch: number): void {
  if (refuseOlderEpoch(currentEpoch, incomingEpoch)) {
    throw makeError(HzErrors.DOLPHIN_HZ_STALE_EPOCH, `${place}: written under epoch ${incomingEpoch}, but epoch ${currentEpoch} has written already; refused`);
  }
}

/** Cost of holding a lease, for the benchmark: renewals and their latency. */
export interface LeadershipStats {
  renewals: number;
  renewFailures: number;
  /** Sum and max of renewal round trips (ms). */
  renewLatencyTotalMs: number;
  renewLatencyMaxMs: number;
  /** The last (up to 512) renewal round trips, ms. */
  recentRenewLatenciesMs: number[];
  elections: number;
  /** Reads of the lease by this candidate as a standby. */
  polls: number;
}

const RECENT = 512;

/**
 * A candidate for one role. At most one candidate across the cluster is leader at any instant;
 * `fence()` right before every write gives the epoch to stamp it with, or throws.
 */
export class Leadership {
  readonly role: string;
  /** This candidate's id in the lease: host/pid/random, unique per instance. */
  readonly id = `${os.hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly timing: LeaseTiming;
  private readonly options: LeadershipOptions;
  private readonly conn: HzConnection;
  private readonly now: () => number;
  private map: TypedMap<Lease> | undefined;
  private listenerId: string | undefined;
  /** The lease text we wrote last and, as far as we know, is still in the map. */
  private held: { text: string; lease: Lease } | undefined;
  private until = 0;
  private currentEpoch = 0;
  private lastKnownEpoch = 0;
  private sighting: Sighting | undefined;
  private timer: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private running = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly stat: LeadershipStats = { renewals: 0, renewFailures: 0, renewLatencyTotalMs: 0, renewLatencyMaxMs: 0, recentRenewLatenciesMs: [], elections: 0, polls: 0 };

  constructor(conn: HzConnection, options: LeadershipOptions) {
    this.conn = conn;
    this.options = options;
    this.role = options.role;
    this.timing = leaseTiming(options);
    this.now = options.now ?? (() => performance.now());
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** Leader now: holds the lease and its deadline (last successful write's send time + TTL − margin) is ahead. */
  isLeader(): boolean {
    return this.held !== undefined && this.now() < this.until;
  }

  /** The epoch to stamp a write with; throws DOLPHIN_HZ_NOT_LEADER when this candidate may not write now. */
  fence(): number {
    if (!this.isLeader()) {
      throw makeError(HzErrors.DOLPHIN_HZ_NOT_LEADER, `${LEADERSHIP_MAP}["${this.role}"]: ${this.id} is not the leader (epoch ${this.currentEpoch}); write refused`);
    }
    return this.currentEpoch;
  }

  assertLeader(): void {
    this.fence();
  }

  stats(): LeadershipStats {
    return { ...this.stat, recentRenewLatenciesMs: [...this.stat.recentRenewLatenciesMs] };
  }

  /** Opens the map, listens to the role's entry (a release is taken over at once) and starts campaigning. */
  start(): Promise<void> {
    return (this.starting ??= (async () => {
      this.map = await openMap(this.conn, LEADERSHIP_MAP, leaseSchema);
      const onChange = (e: { value: string | null | undefined }) => {
        if (this.releasedOrGone(e.value)) this.kick();
      };
      this.listenerId = await withTimeout(this.map.raw.addEntryListener({
        added: onChange, updated: onChange, removed: onChange, evicted: onChange,
      }, this.role, true), this.conn.settings.operationTimeoutMs, `listen to ${LEADERSHIP_MAP}["${this.role}"]`);
      this.running = true;
      this.kick();
    })());
  }

  /** Stops acting first, then releases the lease so a standby takes over at once (a clean handover). */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.running = false;
      if (this.timer) clearTimeout(this.timer);
      await this.inFlight;
      const held = this.held;
      this.demote('stopped');
      if (held && this.map) {
        const released: Lease = { ...held.lease, holder: null, seq: held.lease.seq + 1, ts: isoMicros() };
        try {
          await withTimeout(this.map.raw.replaceIfSame(this.role, held.text, this.map.encode(this.role, released)), this.timing.ttlMs, `release ${this.where()}`);
        } catch (err) {
          this.options.logger.warn({ err, role: this.role }, 'leadership release failed; a standby takes over once the lease has gone stale');
        }
      }
      if (this.listenerId && this.map) await this.map.raw.removeEntryListener(this.listenerId).catch(() => undefined);
    })());
  }

  /**
   * Only a release (or a vanished entry) wakes a standby early. Every renewal fires the listener
   * too: reacting to those had the holder renew on its own events in a loop (≈ 1,160 renewals/s
   * instead of 1/s, the test's rate bound) and every standby read the lease on each renewal.
   */
  private releasedOrGone(text: string | null | undefined): boolean {
    if (this.held) return false;
    if (text === null || text === undefined) return true;
    try {
      return this.map!.decode(this.role, text).holder === null;
    } catch {
      return false; // refused (seal) or not a lease: the poll judges it
    }
  }

  private where(): string {
    return `${LEADERSHIP_MAP}["${this.role}"]`;
  }

  /** Runs a turn now (or right after the one in flight). */
  private kick(): void {
    if (!this.running) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.inFlight = this.turn().catch((err: unknown) => {
      this.options.logger.warn({ err, role: this.role }, 'leadership turn failed; trying again');
    }).finally(() => {
      this.inFlight = undefined;
      if (!this.running) return;
      if (this.again) {
        this.again = false;
        this.kick();
        return;
      }
      this.timer = setTimeout(() => this.kick(), this.held ? this.timing.renewEveryMs : this.timing.pollEveryMs);
    });
  }

  private async turn(): Promise<void> {
    if (this.held) await this.renew(this.held);
    else await this.campaign();
  }

  /** Holder: CAS our last text to the next one. A holder whose deadline passed takes a new epoch. */
  private async renew(held: { text: string; lease: Lease }): Promise<void> {
    const map = this.map!;
    const resumed = !this.isLeader();
    const next: Lease = resumed
      ? { ...held.lease, epoch: nextEpoch(held.lease.epoch, this.lastKnownEpoch, Date.now()), seq: 0, ts: isoMicros() }
      : { ...held.lease, seq: held.lease.seq + 1, ts: isoMicros() };
    const text = map.encode(this.role, next);
    const sentAt = this.now();
    let ok: boolean;
    try {
      ok = await withTimeout(map.raw.replaceIfSame(this.role, held.text, text), this.renewTimeoutMs(), `renew ${this.where()}`);
    } catch (err) {
      // The write may still land later: harmless, it only lands if nobody took the lease meanwhile.
      this.stat.renewFailures++;
      this.options.logger.warn({ err, role: this.role }, 'lease renewal failed; still leader until the deadline');
      return;
    }
    this.countRenewal(this.now() - sentAt);
    if (!ok) {
      if (this.isLeader()) this.options.logger.error({ role: this.role, epoch: this.currentEpoch }, 'lease taken while this candidate was within its deadline');
      this.held = undefined;
      this.demote('lost');
      return;
    }
    this.held = { text, lease: next };
    if (!this.running) return; // stop() is waiting to release what we hold
    if (resumed) this.elect(next.epoch, sentAt);
    else this.extend(sentAt);
  }

  /** Standby: read the lease; take it when released, absent, or unchanged for a whole TTL. */
  private async campaign(): Promise<void> {
    const map = this.map!;
    this.stat.polls++;
    const text = await withTimeout(map.raw.get(this.role), this.conn.settings.operationTimeoutMs, `read ${this.where()}`);
    const seenAt = this.now();
    if (text === null || text === undefined) {
      const lease = this.leaseFor(nextEpoch(undefined, this.lastKnownEpoch, Date.now()));
      const mine = map.encode(this.role, lease);
      const sentAt = this.now();
      const prev = await withTimeout(map.raw.putIfAbsent(this.role, mine), this.conn.settings.operationTimeoutMs, `create ${this.where()}`);
      if (prev === null || prev === undefined) {
        this.held = { text: mine, lease };
        if (this.running) this.elect(lease.epoch, sentAt);
      }
      return;
    }
    let lease: Lease | undefined;
    try {
      lease = map.decode(this.role, text);
      this.lastKnownEpoch = Math.max(this.lastKnownEpoch, lease.epoch);
    } catch (err) {
      // Not Dolphin's (bad seal) or not a lease: replaced like a stale lease once it stays a whole TTL.
      this.options.logger.warn({ err, role: this.role }, 'lease entry refused');
    }
    if (this.sighting?.text !== text) this.sighting = { text, since: seenAt };
    if (!mayTakeOver(this.sighting, lease, this.id, seenAt, this.timing.ttlMs)) return;
    const next = this.leaseFor(nextEpoch(lease?.epoch, this.lastKnownEpoch, Date.now()));
    const mine = map.encode(this.role, next);
    const sentAt = this.now();
    const ok = await withTimeout(map.raw.replaceIfSame(this.role, text, mine), this.conn.settings.operationTimeoutMs, `take over ${this.where()}`);
    if (ok) {
      this.held = { text: mine, lease: next };
      if (this.running) this.elect(next.epoch, sentAt);
    }
  }

  private leaseFor(epoch: number): Lease {
    return { role: this.role, epoch, holder: this.id, seq: 0, ttl_ms: this.timing.ttlMs, host: os.hostname(), pid: process.pid, ts: isoMicros() };
  }

  /** A renewal slower than the lease is worth nothing: give up on it by then. */
  private renewTimeoutMs(): number {
    return Math.min(this.conn.settings.operationTimeoutMs, this.timing.ttlMs);
  }

  private countRenewal(ms: number): void {
    const s = this.stat;
    s.renewals++;
    s.renewLatencyTotalMs += ms;
    s.renewLatencyMaxMs = Math.max(s.renewLatencyMaxMs, ms);
    if (s.recentRenewLatenciesMs.length >= RECENT) s.recentRenewLatenciesMs.shift();
    s.recentRenewLatenciesMs.push(ms);
  }

  private elect(epoch: number, sentAt: number): void {
    this.currentEpoch = epoch;
    this.lastKnownEpoch = Math.max(this.lastKnownEpoch, epoch);
    this.sighting = undefined;
    this.stat.elections++;
    this.extend(sentAt);
    this.options.logger.info({ role: this.role, epoch, candidate: this.id }, 'elected leader');
    this.options.onElected?.(epoch);
  }

  /** Moves the deadline to the last successful write's send time + TTL − margin, and arms the demotion. */
  private extend(sentAt: number): void {
    this.until = leaderUntil(sentAt, this.timing);
    if (this.expiry) clearTimeout(this.expiry);
    const left = this.until - this.now();
    this.expiry = setTimeout(() => {
      if (this.held && !this.isLeader()) this.demote('expired');
    }, Math.max(0, left));
    this.expiry.unref();
  }

  /** Stops acting (isLeader() false from here on) and says why, once per tenure. */
  private demote(reason: DemotionReason): void {
    const was = this.until > 0;
    this.until = 0;
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
    if (reason === 'stopped') this.held = undefined;
    if (!was) return;
    this.options.logger.warn({ role: this.role, epoch: this.currentEpoch, reason }, 'no longer leader');
    this.options.onDemoted?.(reason, this.currentEpoch);
  }
}
