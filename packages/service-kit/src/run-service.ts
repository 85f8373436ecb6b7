import { existsSync, readFileSync } from 'node:fs';
import { flushCompileCache, getCompileCacheDir } from 'node:module';
import path from 'node:path';
import type { Registry } from 'prom-client';
import {
  createLogger,
  isDolphinError,
  loadConfig,
  type DolphinConfig,
  type LoadConfigOptions,
  type Logger,
} from '@dolphin/core';
import { connect, HeartbeatWriter, openSeal, REPO_ROOT, type HzConnection } from '@dolphin/hz';
import type { ValueSeal } from '@dolphin/core';
import { ComponentStack, type CloseFn, type ComponentOptions, type CloseReport } from './components.ts';
import { Lifecycle } from './lifecycle.ts';
import { createRegistry, serveMetrics } from './metrics-server.ts';
import { StateRegistry, snapshotPath, takeSnapshot, writeSnapshot, type StateHandler } from './state.ts';
import { sdNotify, Watchdog } from './sd-notify.ts';
import { countRefusals } from './refusals.ts';
import { applyUmask, secureDir } from './file-modes.ts';

export interface ServiceContext {
  readonly name: string;
  readonly version: string;
  readonly config: Readonly<DolphinConfig>;
  readonly logger: Logger;
  readonly hz: HzConnection;
  readonly heartbeat: HeartbeatWriter;
  readonly metrics: Registry;
  readonly lifecycle: Lifecycle;
  /** Aborted when the service starts stopping: loops and waits should end on it. */
  readonly signal: AbortSignal;
  /** Closed on shutdown in reverse order of registration, each within its timeout. */
  register(name: string, close: CloseFn, options?: ComponentOptions): void;
  /** State carried across a restart; restored at once when a valid snapshot was found. */
  registerState<T>(name: string, handler: StateHandler<T>): void;
}

export interface ServiceDefinition {
  /**
   * The service's name: its heartbeat key, logs and metrics. A function of the configuration
   * for a service that runs as several (the trader's colours: event-trader, event-trader-green).
   */
  name: string | ((config: Readonly<DolphinConfig>) => string);
  version?: string;
  /** Wires the service; resolves when it is ready to take work. */
  start(ctx: ServiceContext): Promise<void> | void;
  config?: LoadConfigOptions;
  /**
   * wait (default): start once the cluster answers. background: start at once, connect in the
   * background, operations fail fast while disconnected (see ConnectOptions.background).
   */
  hazelcast?: 'wait' | 'background';
}

export interface ServiceRunOptions {
  /** Install SIGTERM/SIGINT and unhandled-rejection handlers (default true; tests may say false). */
  installProcessHandlers?: boolean;
  /** What to do with the final exit code (default: process.exit). */
  exit?: (code: number) => void;
  argv?: readonly string[];
}

export interface RunningService {
  readonly ctx: ServiceContext;
  /** Stops in order; repeated calls return the same promise. Resolves to the exit code. */
  stop(reason?: string): Promise<number>;
  readonly stopped: Promise<number>;
}

/**
 * Node flags every service process runs with. A service's live data is small (one scan at a
 * time, a few caches: about 20 MB of heap), but V8 sizes its heap for big machines: up to 64 MB
 * per young semi-space, and an old space allowed to grow far before it is compacted, so the
 * bridge settled near 380 MB RSS. With 4 MB semi-spaces and a 192 MB old space, a 10-minute soak
 * at 100 scans/s peaked at 169 MB (bridge) and 132 MB (trader) (bench/e2e.ts, rss_mb_*); a
 * 128 MB old space saved a little more memory but lengthened the latency tail.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--max-old-space-size=192'];

/**
 * Environment every service process runs with. glibc gives each thread that allocates its own
 * malloc arena (libuv's file threads, V8's GC helpers), and memory freed in one is not returned
 * while others hold pages: two arenas keep the RSS lower and flatter (4-minute soak at 100
 * scans/s: bridge 125 → 127 MB with two, 131 → 137 MB without).
 */
export const SERVICE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Configuration error (sysexits EX_CONFIG): restarting cannot help. */
export const EXIT_CONFIG = 78;

function repoVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * A service's whole life: config (strict, parsed once), logger, Hazelcast client, heartbeat,
 * metrics, then the service's own start(); on SIGTERM/SIGINT it marks itself stopping and closes
 * registered components last-in-first-out, each within its timeout, then exits 0. An unhandled
 * rejection or exception is logged and exits 1 (the supervisor restarts the process).
 */
export async function runService(def: ServiceDefinition, options: ServiceRunOptions = {}): Promise<RunningService> {
  // Files 0640, folders 0750, before anything is written (positions and PnL are nobody else's).
  applyUmask();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const installHandlers = options.installProcessHandlers ?? true;
  const argv = options.argv ?? process.argv.slice(2);
  const version = def.version ?? repoVersion();

  let config: Readonly<DolphinConfig>;
  try {
    config = loadConfig(def.config);
  } catch (err) {
    const bootLogger = createLogger({ service: typeof def.name === 'string' ? def.name : 'service' });
    bootLogger.fatal({ code: isDolphinError(err) ? err.code : undefined }, (err as Error).message);
    exit(EXIT_CONFIG);
    throw err;
  }

  const name = typeof def.name === 'string' ? def.name : def.name(config);
  const logger = createLogger({ service: name, level: config.log.level, pretty: config.log.pretty });
  try {
    secureDir(config.stateDir);
  } catch (err) {
    logger.warn({ err, stateDir: config.stateDir }, 'could not make sure of the state folder\'s modes');
  }
  const lifecycle = new Lifecycle();
  const components = new ComponentStack(config.shutdown.componentTimeoutMs, logger);
  const states = new StateRegistry();
  const abort = new AbortController();
  let restoredStates: Record<string, unknown> | undefined;

  if (argv.includes('--restart')) {
    const file = snapshotPath(config.stateDir, name);
    if (existsSync(file)) {
      try {
        restoredStates = takeSnapshot(file, { service: name });
        logger.info({ file, states: Object.keys(restoredStates) }, 'restart snapshot accepted');
      } catch (err) {
        logger.warn({ err }, 'restart snapshot ignored');
      }
    }
  }

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => { resolveStopped = r; });
  let stopping: Promise<number> | undefined;
  let heartbeat: HeartbeatWriter | undefined;

  lifecycle.on('change', (to, from) => {
    logger.info({ from, to }, `lifecycle ${from} → ${to}`);
    void heartbeat?.setState(to);
  });

  const stop = (reason = 'stop requested', code = EXIT_OK): Promise<number> => {
    if (stopping) return stopping;
    stopping = (async () => {
      logger.info({ reason }, 'stopping');
      if (lifecycle.canMoveTo('stopping')) lifecycle.moveTo('stopping');
      void sdNotify('STOPPING=1');
      abort.abort(reason);
      const reports: CloseReport[] = await components.closeAll();
      const clean = reports.every((r) => r.outcome === 'closed');
      if (lifecycle.canMoveTo('stopped')) lifecycle.moveTo(code === EXIT_OK ? 'stopped' : 'failed');
      logger.info({ components: reports.map((r) => `${r.name}:${r.outcome}`), clean }, 'stopped');
      resolveStopped(code);
      return code;
    })();
    return stopping;
  };

  if (installHandlers) {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal: sig }, 'second signal while stopping: exiting now');
        exit(EXIT_FAILURE);
        return;
      }
      void stop(`signal ${sig}`).then(exit);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const fatal = (kind: string) => (err: unknown) => {
      logger.fatal({ err }, `${kind}: exiting so the supervisor can restart a clean process`);
      if (lifecycle.canMoveTo('failed')) lifecycle.moveTo('failed');
      exit(EXIT_FAILURE);
    };
    // Started with an IPC channel (by `dolphin up` or the supervisor): when the parent goes away,
    // even killed with SIGKILL, the channel closes and the service stops instead of lingering.
    if (process.send) {
      process.once('disconnect', () => void stop('parent process went away').then(exit));
      // The restart protocol: the parent asks for a snapshot before it restarts this process
      // with --restart; the new process restores it (marker, checksum and age permitting).
      process.on('message', (m: { type?: string }) => {
        if (m?.type !== 'snapshot') return;
        const file = snapshotPath(config.stateDir, name);
        try {
          writeSnapshot(file, name, states.captureAll());
          logger.info({ file, states: states.names() }, 'restart snapshot written');
          process.send?.({ type: 'snapshot-written', file });
        } catch (err) {
          logger.error({ err, file }, 'restart snapshot failed');
          process.send?.({ type: 'snapshot-failed', error: (err as Error).message });
        }
      });
    }
    process.on('unhandledRejection', fatal('unhandled rejection'));
    process.on('uncaughtException', fatal('uncaught exception'));
  }

  // The key that seals Dolphin's values: without it the service could neither prove its writes
  // nor tell forged values from real ones. A restart cannot fix a missing or open key: exit 78.
  let seal: ValueSeal;
  try {
    seal = openSeal(config.stateDir, config.security.keyFile, { create: true });
  } catch (err) {
    logger.fatal({ code: isDolphinError(err) ? err.code : undefined }, (err as Error).message);
    exit(EXIT_CONFIG);
    throw err;
  }

  lifecycle.moveTo('starting');
  const hz = await connect({ settings: config.hazelcast, logger, name: `${name}-${process.pid}`, background: def.hazelcast === 'background', seal });
  components.register('hazelcast', () => hz.shutdown());
  // A client that gave up for good cannot heal: exit for the supervisor to start a fresh process.
  hz.events.once('lost', () => void stop('hazelcast client lost', EXIT_FAILURE).then(exit));

  const metrics = createRegistry(name);
  countRefusals(hz, metrics, logger);
  if (config.metrics.port > 0) {
    const server = await serveMetrics(metrics, config.metrics.host, config.metrics.port);
    logger.info({ url: `http://${config.metrics.host}:${server.port}/metrics` }, 'metrics served');
    components.register('metrics-server', () => server.close());
  }

  // Under systemd (WatchdogSec=) the heartbeat's tick pets the watchdog: it does not depend on
  // the cluster answering (a member outage must not get every service killed), only on the
  // event loop running, so a frozen process is killed and restarted by systemd itself.
  const watchdog = new Watchdog();
  heartbeat = new HeartbeatWriter(hz, { service: name, version, intervalMs: config.heartbeat.intervalMs, logger, onTick: () => watchdog.pet() });
  await heartbeat.start();
  const hb = heartbeat;
  components.register('heartbeat', async () => {
    hb.stop();
    await hb.setState(lifecycle.state === 'stopping' ? 'stopped' : lifecycle.state);
  });

  const ctx: ServiceContext = {
    name,
    version,
    config,
    logger,
    hz,
    heartbeat: hb,
    metrics,
    lifecycle,
    signal: abort.signal,
    register: (name, close, opts) => components.register(name, close, opts),
    registerState: (name, handler) => {
      states.register(name, handler);
      if (restoredStates && name in restoredStates) {
        handler.restore(restoredStates[name] as never);
        logger.info({ state: name }, 'state restored');
      }
    },
  };

  try {
    await def.start(ctx);
  } catch (err) {
    const configError = isDolphinError(err, 'DOLPHIN_CONFIG_INVALID');
    if (configError) logger.fatal({ code: err.code }, err.message);
    else logger.error({ err }, 'start failed');
    const code = await stop('start failed', configError ? EXIT_CONFIG : EXIT_FAILURE);
    exit(code);
    return { ctx, stop, stopped };
  }
  if (lifecycle.state === 'starting') {
    lifecycle.moveTo('running');
    process.send?.({ type: 'ready', service: name, pid: process.pid });
    void sdNotify('READY=1', `STATUS=${name} running`);
    // Node writes its compile cache (NODE_COMPILE_CACHE, set by the units) only at a clean exit;
    // a service that is killed would never leave one, and every restart would compile again.
    if (getCompileCacheDir()) setImmediate(() => flushCompileCache());
  }
  return { ctx, stop, stopped };
}
