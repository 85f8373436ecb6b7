import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isoMicros, makeError } from '@dolphin/core';
import { KitErrors } from './errors.ts';

export interface StateHandler<T = unknown> {
  /** A JSON-serialisable copy of the state worth carrying across a restart. */
  capture(): T;
  /** Puts captured state back; called before the service starts taking work. */
  restore(value: T): void;
}

/** Named pieces of a service's working state, captured and restored together. */
export class StateRegistry {
  private readonly handlers = new Map<string, StateHandler>();

  register<T>(name: string, handler: StateHandler<T>): void {
    if (this.handlers.has(name)) throw makeError(KitErrors.DOLPHIN_KIT_DUPLICATE_NAME, `state "${name}" is already registered`);
    this.handlers.set(name, handler as StateHandler);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }

  captureAll(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, h] of this.handlers) out[name] = h.capture();
    return out;
  }

  /** Restores each registered name present in `states`; returns the names restored. */
  restoreAll(states: Record<string, unknown>): string[] {
    const done: string[] = [];
    for (const [name, h] of this.handlers) {
      if (name in states) {
        h.restore(states[name]);
        done.push(name);
      }
    }
    return done;
  }
}

export const SNAPSHOT_MARKER = 'dolphin-restart-v1';

interface SnapshotBody {
  marker: string;
  service: string;
  pid: number;
  ts: string;
  states: Record<string, unknown>;
}

function checksum(body: SnapshotBody): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** `<stateDir>/<service>.restart.json` */
export function snapshotPath(stateDir: string, service: string): string {
  return path.join(stateDir, `${service}.restart.json`);
}

/** Writes a restart snapshot atomically (temp file + rename), with marker, pid, time and checksum. */
export function writeSnapshot(file: string, service: string, states: Record<string, unknown>): void {
  const body: SnapshotBody = { marker: SNAPSHOT_MARKER, service, pid: process.pid, ts: isoMicros(), states };
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...body, checksum: checksum(body) }));
  renameSync(tmp, file);
}

export interface ReadSnapshotOptions {
  service: string;
  maxAgeMs?: number;
  nowMs?: number;
}

/**
 * Reads a restart snapshot and deletes it. Throws DOLPHIN_KIT_SNAPSHOT_REJECTED (the reason in
 * the message) when the marker, service, checksum or age (default ≤ 30 s) do not check out.
 */
export function takeSnapshot(file: string, options: ReadSnapshotOptions): Record<string, unknown> {
  const reject = (why: string, cause?: unknown) =>
    makeError(KitErrors.DOLPHIN_KIT_SNAPSHOT_REJECTED, `restart snapshot ${file}: ${why}`, cause === undefined ? {} : { cause });
  let parsed: SnapshotBody & { checksum?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw reject('unreadable or not JSON', cause);
  } finally {
    rmSync(file, { force: true });
  }
  const { checksum: sum, ...rest } = parsed;
  const body: SnapshotBody = { marker: rest.marker, service: rest.service, pid: rest.pid, ts: rest.ts, states: rest.states };
  if (body.marker !== SNAPSHOT_MARKER) throw reject(`marker is ${JSON.stringify(body.marker)}, expected ${SNAPSHOT_MARKER}`);
  if (body.service !== options.service) throw reject(`written by service ${JSON.stringify(body.service)}, not ${options.service}`);
  if (sum !== checksum(body)) throw reject('checksum does not match its content');
  const ageMs = (options.nowMs ?? Date.now()) - Date.parse(body.ts);
  const maxAgeMs = options.maxAgeMs ?? 30_000;
  if (!(ageMs <= maxAgeMs)) throw reject(`${Math.round(ageMs / 1000)} s old, older than ${maxAgeMs / 1000} s`);
  return body.states;
}
