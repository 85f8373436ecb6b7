import os from 'node:os';
import { isoMicros, MapNames, type Heartbeat, type LifecycleState, type Logger, heartbeatSchema } from '@dolphin/core';
import type { HzConnection } from './client-factory.ts';
import { openMap, type TypedMap } from './typed-map.ts';

export interface HeartbeatOptions {
  service: string;
  version: string;
  intervalMs: number;
  logger: Logger;
  /** Extra fields merged into every beat (must keep to the heartbeat schema). */
  extra?: () => Record<string, unknown>;
  /** Called on every tick, whether or not the write succeeds: proof that the event loop runs (systemd's watchdog). */
  onTick?: () => void;
}

/**
 * Writes DOLPHIN_HEARTBEAT[service] every `intervalMs` and at once on every state change.
 * A failed write is logged (once per outage) and never throws: the heartbeat going stale is
 * the signal meta-health reads.
 */
export class HeartbeatWriter {
  private map: TypedMap<Heartbeat> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private state: LifecycleState = 'starting';
  private failing = false;
  private readonly startedAt = isoMicros();
  private readonly options: HeartbeatOptions;
  private readonly conn: HzConnection;

  constructor(conn: HzConnection, options: HeartbeatOptions) {
    this.conn = conn;
    this.options = options;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.options.onTick?.();
      void this.beat();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  current(): Heartbeat {
    return {
      ...this.options.extra?.(),
      service: this.options.service,
      pid: process.pid,
      host: os.hostname(),
      version: this.options.version,
      ts: isoMicros(),
      state: this.state,
      started_at: this.startedAt,
    };
  }

  async setState(state: LifecycleState): Promise<void> {
    this.state = state;
    await this.beat();
  }

  async beat(): Promise<void> {
    try {
      // Opened on the first beat that can: a process started without the cluster beats once it is there.
      this.map ??= await openMap(this.conn, MapNames.HEARTBEAT, heartbeatSchema);
      await this.map.set(this.options.service, this.current());
      if (this.failing) this.options.logger.info('heartbeat writes recovered');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.logger.warn({ err }, 'heartbeat write failed; will keep trying');
      this.failing = true;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
