import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { nextElapse, parseCalendar, previousElapse, type DailyCalendar, type Logger, type Schedule } from '@dolphin/core';
import type { ExitInfo } from './restart-policy.ts';
import type { ScheduleView, SupervisedProcess } from './supervised-process.ts';

/** What a scheduled entry remembers across supervisor restarts: `<stateDir>/schedule/<name>.json`. */
export const scheduleRecordSchema = z.object({
  /** When a supervisor first armed it: a time missed after this is caught up even before any run. */
  armedAt: z.string().optional(),
  /** The elapse last run by the schedule (systemd's timer stamp); runs by hand do not count. */
  lastTriggerAt: z.string().optional(),
  lastExit: z.object({ code: z.number().nullable(), signal: z.string().nullable(), at: z.string(), reason: z.string() }).optional(),
});
export type ScheduleRecord = z.infer<typeof scheduleRecordSchema>;

/** The next run: the elapse it is for, and when it starts (the elapse plus the random delay, or now). */
export interface PlannedRun {
  elapse: number;
  at: number;
  /** A persistent schedule's elapse missed while nothing ran. */
  catchUp: boolean;
}

/**
 * When to run next, as a systemd timer with OnCalendar=, Persistent= and RandomizedDelaySec=
 * does: the next elapse after `now` plus a random delay; or, when persistent and an elapse
 * passed since the last run (or since the first arming), that elapse at once. Pure.
 */
export function planRun(cal: DailyCalendar, schedule: Schedule, now: number, record: ScheduleRecord, random: () => number): PlannedRun {
  const delay = Math.floor(random() * schedule.randomizedDelaySec * 1_000);
  const since = Date.parse(record.lastTriggerAt ?? record.armedAt ?? '');
  const missed = previousElapse(cal, now);
  if (schedule.persistent && Number.isFinite(since) && missed > since) return { elapse: missed, at: Math.max(now, missed + delay), catchUp: true };
  const elapse = nextElapse(cal, now);
  return { elapse, at: elapse + delay, catchUp: false };
}

/** Timers wake at least this often to look at the wall clock again (a suspended laptop, a clock set). */
const TICK_MS = 60_000;

export interface ScheduledRunsOptions {
  stateDir: string;
  logger: Logger;
  random?: () => number;
  /** Said to the supervisor's `warning` listeners (dolphin up prints them). */
  onWarning?: (message: string) => void;
}

/**
 * Runs one registry entry at its schedule's times (`dolphin up`'s stand-in for a systemd timer
 * and its oneshot service): starts the process at each elapse unless a run is still going, never
 * restarts it (its restart mode is `never` for that), and records each trigger and exit in the
 * state folder, so that a later supervisor knows what was missed.
 */
export class ScheduledRuns {
  readonly process: SupervisedProcess;
  readonly schedule: Schedule;
  /** Why it cannot run on schedule (a calendar dolphin up does not understand). */
  readonly error: string | undefined;
  private readonly cal: DailyCalendar | undefined;
  private readonly o: ScheduledRunsOptions;
  private readonly file: string;
  private record: ScheduleRecord = {};
  private planned: PlannedRun | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(process: SupervisedProcess, schedule: Schedule, options: ScheduledRunsOptions) {
    this.process = process;
    this.schedule = schedule;
    this.o = options;
    this.file = path.join(options.stateDir, 'schedule', `${process.name}.json`);
    let cal: DailyCalendar | undefined;
    let error: string | undefined;
    try {
      cal = parseCalendar(schedule.calendar);
    } catch (err) {
      error = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
    }
    this.cal = cal;
    this.error = error;
    process.on('exit', (exit: ExitInfo, reason: string) => this.onExit(exit, reason));
  }

  /** Reads the record and waits for the next run (at once for a persistent schedule that missed one). */
  arm(): void {
    if (!this.cal || this.closed) return;
    this.record = this.read();
    if (this.record.armedAt === undefined) {
      this.record.armedAt = new Date().toISOString();
      this.write();
    }
    this.plan();
  }

  private plan(): void {
    if (!this.cal || this.closed) return;
    this.planned = planRun(this.cal, this.schedule, Date.now(), this.record, this.o.random ?? Math.random);
    if (this.planned.catchUp) {
      this.o.logger.info({ svc: this.process.name, elapse: new Date(this.planned.elapse).toISOString() }, `${this.process.name}: its time ${new Date(this.planned.elapse).toISOString()} passed while it did not run (persistent): running it`);
    }
    this.wait();
  }

  private wait(): void {
    clearTimeout(this.timer);
    const due = (this.planned?.at ?? Number.POSITIVE_INFINITY) - Date.now();
    this.timer = setTimeout(() => (due <= TICK_MS ? this.fire() : this.wait()), Math.max(0, Math.min(due, TICK_MS)));
    this.timer.unref();
  }

  private fire(): void {
    if (this.closed || !this.planned) return;
    if (Date.now() < this.planned.at) return this.wait();
    const { elapse } = this.planned;
    // Recorded either way, as systemd stamps a timer that elapsed: this time is dealt with.
    this.record.lastTriggerAt = new Date(elapse).toISOString();
    this.write();
    const state = this.process.state;
    if (state === 'starting' || state === 'running' || state === 'stopping') {
      // As a timer whose service is still active: this time is skipped.
      this.o.onWarning?.(`its run for ${this.record.lastTriggerAt} is skipped: the previous run is still going`);
    } else {
      this.o.logger.info({ svc: this.process.name, elapse: this.record.lastTriggerAt }, `${this.process.name}: scheduled run`);
      void this.process.start().catch((err: unknown) => this.o.logger.error({ err, svc: this.process.name }, 'scheduled start failed'));
    }
    this.planned = undefined;
    this.plan(); // the next elapse after this one (now is past it)
  }

  private onExit(exit: ExitInfo, reason: string): void {
    this.record.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString(), reason };
    this.write();
  }

  /** For the status: the schedule, the next run and the last trigger. */
  view(): ScheduleView {
    return {
      calendar: this.schedule.calendar, persistent: this.schedule.persistent, randomizedDelaySec: this.schedule.randomizedDelaySec,
      nextRunAt: this.planned ? new Date(this.planned.at).toISOString() : undefined,
      lastTriggerAt: this.record.lastTriggerAt,
    };
  }

  /** The last exit on record (from an earlier supervisor, if this one has not run it yet). */
  get lastExit(): ScheduleRecord['lastExit'] {
    return this.record.lastExit;
  }

  /** The status line between runs: when the next is, and how the last ended. */
  words(): string {
    const next = this.planned ? `next run ${new Date(this.planned.at).toISOString().replace('T', ' ').slice(0, 19)} UTC` : 'no next run';
    const last = this.record.lastExit;
    return last ? `${next}; last run ${last.at.replace('T', ' ').slice(0, 19)} UTC ${last.reason}` : `${next}; not run yet`;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private read(): ScheduleRecord {
    try {
      return scheduleRecordSchema.parse(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch {
      return {}; // none yet, or unreadable: as a first arming
    }
  }

  private write(): void {
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.record));
      renameSync(tmp, this.file);
    } catch (err) {
      this.o.logger.warn({ err, file: this.file }, `${this.process.name}: cannot write its schedule record; a missed run may not be caught up after a restart`);
    }
  }
}
