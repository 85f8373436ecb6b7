import { z } from 'zod';
import { fromRoot } from './paths.ts';

/** host:port of a Hazelcast member. */
export const memberAddressSchema = z
  .string()
  .regex(/^[A-Za-z0-9.\-]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:5701');

const backoffSchema = z.strictObject({
  initialMs: z.number().int().positive().default(100),
  maxMs: z.number().int().positive().default(5_000),
  multiplier: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.2),
});

export const logConfigSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Pretty lines only when asked, or on a TTY with `auto`; JSON otherwise. */
  pretty: z.enum(['auto', 'always', 'never']).default('auto'),
});

export const hazelcastConfigSchema = z.strictObject({
  clusterName: z.string().min(1).default('dolphin'),
  members: z.array(memberAddressSchema).min(1).default(['127.0.0.1:5701']),
  /** Per-connection attempt timeout. */
  connectTimeoutMs: z.number().int().positive().default(5_000),
  /** Upper bound of every map operation (DESIGN.md §7: every await on I/O has a timeout). */
  operationTimeoutMs: z.number().int().positive().default(10_000),
  reconnect: backoffSchema.prefault({}),
});

/** The local member `dolphin up` starts when no HZ_MEMBERS is given. */
export const memberConfigSchema = z.strictObject({
  port: z.number().int().min(1).max(65_535).default(5701),
  heapMb: z.number().int().min(64).default(512),
  javaHome: z.string().min(1).optional(),
  startTimeoutMs: z.number().int().positive().default(60_000),
  stopTimeoutMs: z.number().int().positive().default(15_000),
  /** Extra JVM arguments (GC choice, flags); the heap comes from heapMb. */
  jvmArgs: z.array(z.string().min(1)).default([]),
});

export const scanBridgeConfigSchema = z.strictObject({
  /** Where unreadable files go, with a reason file beside each (default: <scans.dir>/_quarantine). */
  quarantineDir: z.string().min(1).transform(fromRoot).optional(),
  /** A file that stays incomplete with no change this long is quarantined as truncated (or empty). */
  settleMs: z.number().int().positive().default(10_000),
  /** After a restart, at most this many files newer than the last published one are caught up. */
  catchUpMax: z.number().int().min(1).default(1_000),
  /** Name written to `bridge_source`. */
  source: z.string().min(1).default('scan-bridge'),
});

export const dolphinConfigSchema = z.strictObject({
  env: z.enum(['dev', 'test', 'prod']).default('dev'),
  log: logConfigSchema.prefault({}),
  hazelcast: hazelcastConfigSchema.prefault({}),
  member: memberConfigSchema.prefault({}),
  heartbeat: z.strictObject({ intervalMs: z.number().int().positive().default(1_000) }).prefault({}),
  shutdown: z.strictObject({
    /** Default time each registered component gets to close on SIGTERM. */
    componentTimeoutMs: z.number().int().positive().default(5_000),
  }).prefault({}),
  scans: z.strictObject({
    /** The scan folder: <dir>/YYYY-MM-DD/scan_<n>_<HHMMSS>.arrow; relative to the checkout. */
    dir: z.string().min(1).default('.dolphin/scans').transform(fromRoot),
  }).prefault({}),
  bridge: scanBridgeConfigSchema.prefault({}),
  trader: z.strictObject({
    /** Strategy parameters (packages/strategy, docs/strategy.md); checked by the trader at start. */
    strategy: z.record(z.string(), z.unknown()).default({}),
  }).prefault({}),
  /** Where services keep durable local state (ledgers, restart snapshots, bridge position); relative to the checkout. */
  stateDir: z.string().min(1).default('.dolphin/state').transform(fromRoot),
  metrics: z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 = no /metrics server for this process. */
    port: z.number().int().min(0).max(65_535).default(0),
  }).prefault({}),
});
export type DolphinConfig = z.infer<typeof dolphinConfigSchema>;
export type DolphinEnv = DolphinConfig['env'];
