import { z } from 'zod';
import { fromRoot } from './paths.ts';
import { metaHealthConfigSchema, serviceRegistrySchema, supervisorConfigSchema } from './registry-schema.ts';

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
  /** The one address this host's member binds to and is checked at (a cluster host's own; never 0.0.0.0). */
  address: z.string().regex(/^(?!0\.0\.0\.0$)\d{1,3}(\.\d{1,3}){3}$/, 'an IPv4 address of this host, e.g. 127.0.0.1').default('127.0.0.1'),
  heapMb: z.number().int().min(64).default(512),
  javaHome: z.string().min(1).optional(),
  startTimeoutMs: z.number().int().positive().default(60_000),
  stopTimeoutMs: z.number().int().positive().default(15_000),
  /** Extra JVM arguments (GC choice, flags); the heap comes from heapMb. */
  jvmArgs: z.array(z.string().min(1)).default([]),
});

export const scanBridgeConfigSchema = z.strictObject({
  /** A hot standby: publishes only while it holds the scan-bridge lease (DOLPHIN_LEADERSHIP); elected, it goes on from the newest published scan. */
  standby: z.boolean().default(false),
  /** The lease's time to live: a dead bridge's scans are taken over within about this long. */
  leaseTtlMs: z.number().int().min(300).default(3_000),
  /** Where unreadable files go, with a reason file beside each (default: <scans.dir>/_quarantine). */
  quarantineDir: z.string().min(1).transform(fromRoot).optional(),
  /** A file that stays incomplete with no change this long is quarantined as truncated (or empty). */
  settleMs: z.number().int().positive().default(10_000),
  /** After a restart, at most this many files newer than the last published one are caught up. */
  catchUpMax: z.number().int().min(1).default(1_000),
  /** Name written to `bridge_source`. */
  source: z.string().min(1).default('scan-bridge'),
  /** A file larger than this is not a scan: quarantined without being read (default: packages/scanfile DEFAULT_MAX_SCAN_BYTES). */
  maxScanBytes: z.number().int().min(1_024).default(8 * 1024 * 1024),
  /**
   * A scan whose number does not follow the last published one (a burst of files, a producer
   * restart) waits until no file has arrived for this long, so what came together is published
   * in time order; the next scan in line is published at once.
   */
  burstQuietMs: z.number().int().min(0).default(25),
  /**
   * ...but never longer than this: a steady stream never falls quiet, and a fresh bridge at
   * 1,000 scans/s would otherwise hold its first scan this long (a `mv` of 2,000 local files
   * takes ≈ 30 ms).
   */
  burstMaxMs: z.number().int().min(0).default(250),
});

/** Where one indicator's numbers come from (services/indicators, docs/indicators.md). */
export const providerSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('synthetic'), seed: z.number().int().default(1) }),
  z.strictObject({ kind: z.literal('replay'), file: z.string().min(1).transform(fromRoot) }),
  z.strictObject({
    kind: z.literal('http'),
    /** A documented preset (docs/indicators.md), or url + path. */
    preset: z.string().min(1).optional(),
    url: z.url().optional(),
    path: z.string().min(1).optional(),
    scale: z.number().optional(),
  }).refine((h) => h.preset !== undefined || (h.url !== undefined && h.path !== undefined), 'give a preset, or both url and path'),
]);
export type ProviderSpec = z.infer<typeof providerSpecSchema>;

const factorSchema = (everyMs: number, seed: number) => z.strictObject({
  everyMs: z.number().int().min(100).default(everyMs),
  provider: providerSpecSchema.default({ kind: 'synthetic', seed }),
}).prefault({});

/** The jobs API (services/jobs-api): backtests as background jobs. */
export const jobsConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(9420),
  /**
   * A file holding the token (16+ characters, mode 0600): POST requests then need
   * `Authorization: Bearer <token>`. Under systemd, LoadCredential=jobs.token works without it.
   * Required in production.
   */
  tokenFile: z.string().min(1).transform(fromRoot).optional(),
  /** Tokens are never configured inline (an environment variable reaches every child process): a file. */
  token: z.undefined({ error: 'tokens come from files, never from the configuration or the environment: write it to a file (mode 0600) and set jobs.tokenFile' }).optional(),
  /** Backtest configs; a request's config_path must resolve inside this folder. */
  configsDir: z.string().min(1).default('config/backtests').transform(fromRoot),
  /** The jobs database (SQLite); default <stateDir>/jobs.db. */
  dbFile: z.string().min(1).transform(fromRoot).optional(),
  /** Model-days run side by side in this many worker threads (default: one per core). */
  workers: z.number().int().min(1).max(64).optional(),
  /** Request bodies larger than this are refused (413) before they are parsed. */
  bodyLimitBytes: z.number().int().min(256).default(16_384),
  /** At most this many dates in one job. */
  maxDates: z.number().int().min(1).default(366),
  /** The daily batch (`dolphin daily`): the backtest it runs for yesterday through this API. */
  daily: z.strictObject({
    /** A backtest config in configsDir (default daily.json: the live scans, with the live trader's postures). */
    configPath: z.string().min(1).default('daily.json'),
    /** Its models to run (default: the config's enabled ones). */
    models: z.array(z.string().min(1)).min(1).optional(),
    /** Give up waiting for the job after this long (the unit's start timeout is an hour). */
    timeoutS: z.number().int().positive().default(3_000),
  }).prefault({}),
});
export type JobsConfig = z.infer<typeof jobsConfigSchema>;

/** The dashboard (services/dashboard): a read-only web view in a process of its own. */
export const dashboardConfigSchema = z.strictObject({
  /** Loopback by default: the page shows positions and PnL. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(9430),
  /**
   * A file holding the token (16+ characters, mode 0600): every request then needs it, `?token=`
   * once (kept in a cookie) or `Authorization: Bearer`. Under systemd, LoadCredential=dashboard.token
   * works without it. Required in production.
   */
  tokenFile: z.string().min(1).transform(fromRoot).optional(),
  token: z.undefined({ error: 'tokens come from files, never from the configuration or the environment: write it to a file (mode 0600) and set dashboard.tokenFile' }).optional(),
  /** The jobs API it lists recent backtests from (default: http://<jobs.host>:<jobs.port>). */
  jobsUrl: z.url().optional(),
  /** How often it asks the supervisor and the jobs API (they have no listeners). */
  pollMs: z.number().int().min(200).default(2_000),
  /** Points kept for the vel_div and latency charts. */
  historyScans: z.number().int().min(10).max(100_000).default(600),
  /** A client whose unsent events pass this many bytes is dropped (it reconnects and gets a fresh snapshot). */
  maxBufferedBytes: z.number().int().min(16_384).default(1_048_576),
  /** At most this many connected event streams; more are refused with 503. */
  maxClients: z.number().int().min(1).default(200),
});
export type DashboardConfig = z.infer<typeof dashboardConfigSchema>;

/** The indicator publishers, each runnable in a process of its own (`main.ts --only <name>`). */
export const INDICATOR_PUBLISHERS = ['exf', 'ob', 'esof'] as const;
export type IndicatorPublisher = (typeof INDICATOR_PUBLISHERS)[number];

export const indicatorsConfigSchema = z.strictObject({
  /** `one`: every publisher in one process; `each`: a process per publisher (own unit and limits). */
  processes: z.enum(['one', 'each']).default('one'),
  fetch: z.strictObject({
    timeoutMs: z.number().int().positive().default(5_000),
    /** Tries per scheduled refresh. */
    attempts: z.number().int().min(1).default(3),
    backoff: backoffSchema.prefault({ initialMs: 250, maxMs: 4_000 }),
    breaker: z.strictObject({
      failureThreshold: z.number().int().min(1).default(5),
      openMs: z.number().int().positive().default(60_000),
    }).prefault({}),
  }).prefault({}),
  funding_btc: factorSchema(30_000, 1),
  dvol_btc: factorSchema(30_000, 2),
  fear_greed: factorSchema(60_000, 3),
  taker_ratio: factorSchema(30_000, 4),
  /** exf_latest is written on every refresh and at least this often. */
  exfPublishMs: z.number().int().min(100).default(10_000),
  ob: z.strictObject({
    everyMs: z.number().int().min(100).default(5_000),
    symbols: z.array(z.string().regex(/^[A-Z0-9]+$/, 'an upper-case symbol such as BTCUSDT')).min(1).default(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']),
    provider: providerSpecSchema.default({ kind: 'synthetic', seed: 5 }),
  }).prefault({}),
  esof: z.strictObject({ everyMs: z.number().int().min(100).default(15_000) }).prefault({}),
});
export type IndicatorsConfig = z.infer<typeof indicatorsConfigSchema>;

/** How Dolphin tells its own values from anything else written into the cluster (docs/operations.md). */
export const securityConfigSchema = z.strictObject({
  /**
   * The key that seals every value Dolphin writes. Default: `$CREDENTIALS_DIRECTORY/dolphin.key`
   * under systemd (LoadCredential=), else `<stateDir>/dolphin.key`, made (0600) at first start.
   * Every process of one install, on every host, needs the same key.
   */
  keyFile: z.string().min(1).transform(fromRoot).optional(),
  /** A timestamp further ahead of this host's clock than this is not believed (scans, postures, states). */
  maxClockSkewMs: z.number().int().min(0).default(5_000),
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
    /**
     * Which trader this is: its maps (DOLPHIN_STATE_<colour>, DOLPHIN_PNL_<colour>) and its ledger
     * (event-trader.db for BLUE, event-trader-<colour>.db for the others). Several colours with
     * their own parameters trade the same scans side by side.
     */
    colour: z.string().regex(/^[A-Z][A-Z0-9]{0,15}$/, 'upper-case letters and digits, e.g. BLUE').default('BLUE'),
    /** A hot standby: trades only while it holds the colour's lease (trader-<colour> in DOLPHIN_LEADERSHIP); another host's trader holds it meanwhile. */
    standby: z.boolean().default(false),
    /** The lease's time to live: a dead leader's colour is taken over within about this long. */
    leaseTtlMs: z.number().int().min(300).default(3_000),
  }).prefault({}),
  indicators: indicatorsConfigSchema.prefault({}),
  /** Safety parameters (services/safety, docs/safety.md); checked by the safety service at start. */
  safety: z.record(z.string(), z.unknown()).default({}),
  /** Where services keep durable local state (ledgers, restart snapshots, bridge position); relative to the checkout. */
  stateDir: z.string().min(1).default('.dolphin/state').transform(fromRoot),
  metrics: z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 = no /metrics server for this process. */
    port: z.number().int().min(0).max(65_535).default(0),
  }).prefault({}),
  /** Every process Dolphin runs (the supervisor, meta-health and the systemd units read it). */
  services: serviceRegistrySchema.default({}),
  supervisor: supervisorConfigSchema.prefault({}),
  metaHealth: metaHealthConfigSchema.prefault({}),
  jobs: jobsConfigSchema.prefault({}),
  dashboard: dashboardConfigSchema.prefault({}),
  security: securityConfigSchema.prefault({}),
});
export type DolphinConfig = z.infer<typeof dolphinConfigSchema>;
export type DolphinEnv = DolphinConfig['env'];
