import { z } from 'zod';
import { CRITICAL_RESTART } from './registry-defaults.ts';

/** A service name: also its heartbeat key, its log file and its systemd unit (dolphin-<name>). */
export const serviceNameSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes, e.g. scan-bridge');

/** How a process is restarted after it exits on its own (systemd's Restart=, RestartSec=). */
export const restartPolicySchema = z.strictObject({
  /** always: after any exit; on-failure: after a non-zero exit or a signal; never. */
  mode: z.enum(['always', 'on-failure', 'never']).default('always'),
  /** Wait before the first restart; each further failure multiplies it, up to maxMs. */
  initialMs: z.number().int().min(0).default(100),
  multiplier: z.number().min(1).default(2),
  maxMs: z.number().int().positive().default(30_000),
  /** Running this long counts as healthy again: the next failure waits initialMs. */
  resetAfterMs: z.number().int().positive().default(60_000),
});
export type RestartPolicy = z.infer<typeof restartPolicySchema>;

/** More than `burst` starts within `intervalMs` → FAILED until a person restarts it (StartLimitBurst/IntervalSec). */
export const startLimitSchema = z.strictObject({
  burst: z.number().int().min(1).default(5),
  intervalMs: z.number().int().positive().default(60_000),
});
export type StartLimit = z.infer<typeof startLimitSchema>;

/** Resource limits: enforced by systemd in production; watched by the supervisor locally. */
export const resourceLimitsSchema = z.strictObject({
  /** Resident memory of the process group; above it the supervisor restarts it (systemd: MemoryMax=). */
  memoryMaxMb: z.number().int().positive().default(256),
  /** Threads and processes of the group (systemd: TasksMax=). */
  tasksMax: z.number().int().positive().default(64),
  /** CPU share, 100 = one core (systemd: CPUQuota=); the supervisor reports and warns. */
  cpuQuotaPct: z.number().int().positive().default(100),
});
export type ResourceLimits = z.infer<typeof resourceLimitsSchema>;

/** When a started process counts as ready. */
export const readinessSchema = z.strictObject({
  /**
   * ipc: the service's `{type: 'ready'}` message (service-kit sends it; READY=1 under systemd);
   * heartbeat: DOLPHIN_HEARTBEAT[name] says `running` with this process's pid (a service run
   * without an IPC channel); http: `url` answers 200 (the member's health check); none: ready
   * once spawned.
   */
  kind: z.enum(['ipc', 'heartbeat', 'http', 'none']).default('ipc'),
  url: z.url().optional(),
  timeoutMs: z.number().int().positive().default(60_000),
});

/**
 * A critical entry starts from CRITICAL_RESTART for the restart fields it does not set itself
 * (before the schema's own defaults fill in the rest). Anything not an object is left for the
 * schema to refuse.
 */
function criticalRestartDefaults(raw: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(raw) || raw.critical !== true || (raw.restart !== undefined && !isObject(raw.restart))) return raw;
  return { ...raw, restart: { ...CRITICAL_RESTART, ...raw.restart } };
}

/**
 * A scheduled entry runs to completion at these times instead of running all the time: a
 * systemd timer (dolphin-<name>.timer: OnCalendar, Persistent, RandomizedDelaySec) in
 * production, the supervisor's own timer under `dolphin up`, from the same fields.
 */
export const scheduleSchema = z.strictObject({
  /** A systemd calendar (systemd.time(7)) in UTC; `dolphin up` understands `*-*-* HH:MM[:SS] UTC`. */
  calendar: z.string().min(1),
  /** Run at start when a time passed while nothing ran (systemd: Persistent=). */
  persistent: z.boolean().default(true),
  /** Spread the start by up to this long (systemd: RandomizedDelaySec=). */
  randomizedDelaySec: z.number().int().min(0).default(0),
});
export type Schedule = z.infer<typeof scheduleSchema>;

/** One process of the registry. */
export const serviceEntrySchema = z.preprocess(criticalRestartDefaults, z.strictObject({
  /**
   * service: a Dolphin service, `node <main>` with the service flags; member: the local
   * Hazelcast member (its JVM command comes from `member`); command: any other program.
   */
  kind: z.enum(['service', 'member', 'command']).default('service'),
  /** For a service: its main file, relative to the checkout (default services/<name>/src/main.ts). */
  main: z.string().min(1).optional(),
  /** For a command: the program and its arguments. */
  command: z.array(z.string().min(1)).min(1).optional(),
  /** Extra arguments (after main for a service). */
  args: z.array(z.string()).default([]),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
  /** Started after these are ready, stopped before them. */
  dependsOn: z.array(serviceNameSchema).default([]),
  /** Counted by meta-health's M1 (process integrity); restarted with a small cap (CRITICAL_RESTART). */
  critical: z.boolean().default(false),
  enabled: z.boolean().default(true),
  restart: restartPolicySchema.prefault({}),
  startLimit: startLimitSchema.prefault({}),
  limits: resourceLimitsSchema.prefault({}),
  readiness: readinessSchema.prefault({}),
  /** SIGTERM, then SIGKILL to the whole process group after this long (systemd: TimeoutStopSec=). */
  stopTimeoutMs: z.number().int().positive().default(10_000),
  /** The service's /metrics port on loopback (0: none); meta-health checks that it answers (M4). */
  metricsPort: z.number().int().min(0).max(65_535).default(0),
  /** Writes DOLPHIN_HEARTBEAT[name] (meta-health's M2 and frozen-service check). */
  heartbeat: z.boolean().default(true),
  /** Run at these times, to completion (a oneshot), instead of all the time. */
  schedule: scheduleSchema.optional(),
}).superRefine((e, ctx) => {
  if (e.kind === 'command' && e.command === undefined) ctx.addIssue({ code: 'custom', path: ['command'], message: 'a command entry needs `command`' });
  if (e.kind !== 'command' && e.command !== undefined) ctx.addIssue({ code: 'custom', path: ['command'], message: `only a command entry takes \`command\` (this is a ${e.kind})` });
  if (e.readiness.kind === 'http' && e.readiness.url === undefined && e.kind !== 'member') {
    ctx.addIssue({ code: 'custom', path: ['readiness', 'url'], message: 'http readiness needs a url' });
  }
}));
export type ServiceEntry = z.infer<typeof serviceEntrySchema>;

/** The service registry: every process Dolphin runs, by name (DESIGN.md §6, docs/operations.md). */
export const serviceRegistrySchema = z.record(serviceNameSchema, serviceEntrySchema).superRefine((reg, ctx) => {
  for (const [name, e] of Object.entries(reg)) {
    for (const dep of e.dependsOn) {
      if (!(dep in reg)) ctx.addIssue({ code: 'custom', path: [name, 'dependsOn'], message: `depends on "${dep}", which the registry does not have` });
      if (dep === name) ctx.addIssue({ code: 'custom', path: [name, 'dependsOn'], message: 'depends on itself' });
    }
  }
  if (Object.values(reg).filter((e) => e.kind === 'member').length > 1) ctx.addIssue({ code: 'custom', path: [], message: 'at most one member entry' });
});
export type ServiceRegistry = z.infer<typeof serviceRegistrySchema>;

/** The supervisor's own settings (`dolphin up`). */
export const supervisorConfigSchema = z.strictObject({
  /** The control endpoint on 127.0.0.1 (0: any free port; the run file says which). */
  controlPort: z.number().int().min(0).max(65_535).default(0),
  /** Resource samples per process, this often. */
  sampleMs: z.number().int().min(100).default(1_000),
  /** Per-service log files are rotated at this size, keeping `logKeep` old ones. */
  logMaxBytes: z.number().int().min(1_024).default(10 * 1024 * 1024),
  logKeep: z.number().int().min(0).max(20).default(3),
});
export type SupervisorConfig = z.infer<typeof supervisorConfigSchema>;

/** The meta-health daemon (services/meta-health, DESIGN.md §6). */
export const metaHealthConfigSchema = z.strictObject({
  cycleMs: z.number().int().min(100).default(1_000),
  /**
   * After a start, no record and no recovery until a cycle has read the cluster (heartbeats and
   * data sources), or until this long has passed; then it judges what it sees (no cluster: M4 = 0).
   * Its client connects in the background, and a cycle that has read nothing would say DEAD.
   */
  warmUpMs: z.number().int().min(0).default(5_000),
  /** Where recovery acts: the local supervisor, systemd units, or nowhere (observe only). auto: systemd when run by it. */
  recoveryVia: z.enum(['auto', 'supervisor', 'systemctl', 'none']).default('auto'),
  /** A service whose heartbeat is older than this while its process runs is frozen, and restarted. */
  frozenAfterMs: z.number().int().positive().default(30_000),
  /** The member not answering this long (its process alive or not restarted) gets restarted. */
  memberDownAfterMs: z.number().int().positive().default(5_000),
  /** A critical service down (and not being restarted) this long gets started. */
  deadAfterMs: z.number().int().positive().default(5_000),
  /** Per target: at most `max` recovery restarts within `windowMs`, waiting backoff between them. */
  budget: z.strictObject({
    max: z.number().int().min(1).default(3),
    windowMs: z.number().int().positive().default(15 * 60_000),
  }).prefault({}),
  backoff: z.strictObject({
    initialMs: z.number().int().min(0).default(5_000),
    multiplier: z.number().min(1).default(2),
    maxMs: z.number().int().positive().default(120_000),
  }).prefault({}),
  /** Port checks (M4) give up after this long. */
  probeTimeoutMs: z.number().int().positive().default(300),
});
export type MetaHealthConfig = z.infer<typeof metaHealthConfigSchema>;
