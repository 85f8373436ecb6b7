import { EventEmitter } from 'node:events';
import { Client, LifecycleState, LogLevel, ReconnectMode, type ClientConfig, type ILogger } from 'hazelcast-client';
import { makeError, type DolphinConfig, type Logger, type ValueSeal } from '@dolphin/core';
import { HzErrors } from './errors.ts';

export type HazelcastSettings = DolphinConfig['hazelcast'];

export interface ConnectOptions {
  settings: HazelcastSettings;
  logger: Logger;
  /** Client name shown by the member (default: dolphin-<pid>). */
  name?: string;
  /**
   * How long a connection may take before connect() rejects. Default: forever, with backoff (a
   * service waits for its cluster instead of crash-looping). The client applies the same bound
   * to later reconnections and then shuts down (`lost`), so only tools and tests set it.
   */
  firstConnectTimeoutMs?: number;
  /**
   * Resolve at once and connect in the background; while disconnected, operations fail at once
   * (ClientOffline) instead of waiting. For a process that must keep working without the
   * cluster — meta-health, which is what restarts a member that does not answer.
   */
  background?: boolean;
  /**
   * Seals every value this connection writes and refuses every value it reads that does not
   * carry this install's MAC (see core's seal.ts). Without it, values are written plain and read
   * unchecked: for tools that hold no key.
   */
  seal?: ValueSeal;
}

/** A value a reader refused: not Dolphin's (no MAC, or a wrong one). */
export interface RefusedValue {
  /** `MAP/key` or the ringbuffer's name. */
  place: string;
  reason: 'unsealed' | 'bad-mac' | 'not-an-object';
}

export interface HzConnectionEvents {
  connected: [];
  disconnected: [];
  /** The client shut down without being asked to: it will not reconnect. */
  lost: [];
  /** A value read through this connection was refused (its seal did not check out). */
  refused: [RefusedValue];
}

/**
 * A Hazelcast client plus the lifecycle events Dolphin needs: `connected` fires after every
 * (re)connection, so listeners can re-read what they may have missed while disconnected.
 */
export interface HzConnection {
  readonly client: Client;
  readonly events: EventEmitter<HzConnectionEvents>;
  readonly settings: HazelcastSettings;
  readonly logger: Logger;
  /** This install's seal, when the process holds the key. */
  readonly seal: ValueSeal | undefined;
  isConnected(): boolean;
  shutdown(): Promise<void>;
}

const LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug' | 'trace'> = {
  [LogLevel.ERROR]: 'error',
  [LogLevel.WARN]: 'warn',
  [LogLevel.INFO]: 'info',
  [LogLevel.DEBUG]: 'debug',
  [LogLevel.TRACE]: 'trace',
};

/** Routes the client's own log lines into pino; its INFO chatter goes to debug. */
function pinoBridge(logger: Logger): ILogger {
  const log = (level: LogLevel, objectName: string, message: string, furtherInfo?: unknown) => {
    const lvl = level === LogLevel.INFO ? 'debug' : (LEVEL[level] ?? 'debug');
    if (!logger.isLevelEnabled(lvl)) return;
    logger[lvl]({ hz: objectName, ...(furtherInfo instanceof Error ? { err: furtherInfo } : {}) }, message);
  };
  return {
    log,
    error: (o, m, f) => log(LogLevel.ERROR, o, m, f),
    warn: (o, m, f) => log(LogLevel.WARN, o, m, f),
    info: (o, m, f) => log(LogLevel.INFO, o, m, f),
    debug: (o, m, f) => log(LogLevel.DEBUG, o, m, f),
    trace: (o, m, f) => log(LogLevel.TRACE, o, m, f),
  };
}

/** The client configuration Dolphin uses everywhere (exported for review and tests). */
export function clientConfig(settings: HazelcastSettings, logger: Logger, name: string,
  onState: (s: LifecycleState) => void, connectTimeoutMs = -1, background = false): ClientConfig {
  const r = settings.reconnect;
  return {
    clusterName: settings.clusterName,
    instanceName: name,
    network: {
      clusterMembers: [...settings.members],
      connectionTimeout: settings.connectTimeoutMs,
      // Smart routing connects to every member's advertised address; members advertise loopback.
      smartRouting: true,
    },
    connectionStrategy: {
      asyncStart: background,
      reconnectMode: background ? ReconnectMode.ASYNC : ReconnectMode.ON,
      connectionRetry: {
        initialBackoffMillis: r.initialMs,
        maxBackoffMillis: r.maxMs,
        multiplier: r.multiplier,
        jitter: r.jitter,
        // -1: keep trying forever. A finite value bounds every reconnection too (the client shuts
        // itself down when it runs out, reported as `lost`), so services always use -1.
        clusterConnectTimeoutMillis: connectTimeoutMs,
      },
    },
    lifecycleListeners: [onState],
    customLogger: pinoBridge(logger),
    metrics: { enabled: false },
    properties: {
      'hazelcast.client.invocation.timeout.millis': settings.operationTimeoutMs,
      'hazelcast.client.heartbeat.interval': 1_000,
      'hazelcast.client.heartbeat.timeout': 10_000,
    },
  };
}

/**
 * Connects to the cluster in `settings.members`. The client retries with exponential backoff
 * and jitter, forever by default, and reconnects by itself after the cluster goes away.
 */
export async function connect(options: ConnectOptions): Promise<HzConnection> {
  const { settings } = options;
  const name = options.name ?? `dolphin-${process.pid}`;
  const logger = options.logger.child({ component: 'hazelcast' });
  const events = new EventEmitter<HzConnectionEvents>();
  let connected = false;
  let closing: Promise<void> | undefined;
  const onState = (state: LifecycleState) => {
    if (state === LifecycleState.CONNECTED) {
      connected = true;
      logger.info({ members: settings.members, cluster: settings.clusterName }, 'hazelcast connected');
      // After the current tick, so the client is fully usable when listeners re-read.
      setImmediate(() => events.emit('connected'));
    } else if (state === LifecycleState.DISCONNECTED) {
      connected = false;
      if (closing) return; // our own shutdown, not an outage
      logger.warn({ members: settings.members }, 'hazelcast disconnected; reconnecting with backoff');
      events.emit('disconnected');
    } else if (state === LifecycleState.SHUTDOWN && !closing) {
      logger.error({ members: settings.members }, 'hazelcast client shut down on its own; it will not reconnect');
      events.emit('lost');
    } else {
      logger.debug({ state }, 'hazelcast client lifecycle');
    }
  };
  let client: Client;
  try {
    client = await Client.newHazelcastClient(clientConfig(settings, logger, name, onState, options.firstConnectTimeoutMs ?? -1, options.background ?? false));
  } catch (cause) {
    throw makeError(HzErrors.DOLPHIN_HZ_CONNECT_TIMEOUT,
      `cluster "${settings.clusterName}" at ${settings.members.join(',')}: not reachable within ${options.firstConnectTimeoutMs} ms`, { cause });
  }
  return {
    client,
    events,
    settings,
    logger,
    seal: options.seal,
    isConnected: () => connected,
    shutdown: () => (closing ??= client.shutdown().catch((err: unknown) => logger.warn({ err }, 'hazelcast client shutdown failed'))),
  };
}
