import {
  dailyPnlSchema, featureScanSchema, heartbeatSchema, Keys, MapNames, metaHealthSchema, traderStateSchema, type FeatureScan, type Logger,
} from '@dolphin/core';
import { openMap, watchMap, withTimeout, type HzConnection, type TypedMap, type Watch } from '@dolphin/hz';
import { ControlClient } from '@dolphin/supervisor';
import type { DailyReportView } from '../web/snapshot.ts';
import type { DashboardModel, JobsListing, SupervisedRow } from './model.ts';

export interface FeedOptions {
  conn: HzConnection;
  model: DashboardModel;
  logger: Logger;
  /** The supervisor's run file (port and token of its control endpoint). */
  runFile: string;
  jobsUrl: string;
  pollMs: number;
  signal: AbortSignal;
}

/** At most this often the latest scan is read after a change: the page needs no more. */
const SCAN_READ_MS = 200;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Puts into the model what the dashboard shows: entry listeners on the health, trader, PnL and
 * heartbeat maps (values included: they are small); the scan's listener takes no values, and the
 * scan is read at most every 200 ms, so a dashboard adds no per-scan work to the member's event
 * path for the trader's scan. The supervisor and the jobs API, which have no listeners, are asked
 * every `pollMs`. Reads nothing it writes and writes nothing anyone reads.
 */
export class DashboardFeed {
  private readonly watches: Watch[] = [];
  private scanRegistration: string | undefined;
  private scans: TypedMap<FeatureScan> | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private scanReading = false;
  private lastScanRead = 0;
  private poller: NodeJS.Timeout | undefined;
  private started = false;
  private readonly o: FeedOptions;

  constructor(o: FeedOptions) {
    this.o = o;
  }

  /** Starts polling at once, and the listeners once the cluster answers (now or later). */
  start(): void {
    const { conn, model } = this.o;
    model.setLink(conn.isConnected());
    conn.events.on('connected', this.onConnected);
    conn.events.on('disconnected', this.onDisconnected);
    if (conn.isConnected()) void this.listen();
    const poll = async () => {
      await Promise.all([this.pollSupervisor(), this.pollJobs()]);
      if (!this.o.signal.aborted) this.poller = setTimeout(() => void poll(), this.o.pollMs);
    };
    void poll();
  }

  async close(): Promise<void> {
    clearTimeout(this.poller);
    clearTimeout(this.scanTimer);
    this.o.conn.events.off('connected', this.onConnected);
    this.o.conn.events.off('disconnected', this.onDisconnected);
    await Promise.all(this.watches.map((w) => w.close()));
    if (this.scans && this.scanRegistration) await this.scans.raw.removeEntryListener(this.scanRegistration).catch(() => false);
  }

  private readonly onConnected = () => {
    this.o.model.setLink(true);
    if (!this.started) void this.listen();
    else this.scheduleScanRead();
  };

  private readonly onDisconnected = () => {
    this.o.model.setLink(false);
  };

  private async listen(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { conn, model, logger } = this.o;
    try {
      const health = await openMap(conn, MapNames.META_HEALTH, metaHealthSchema);
      const state = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
      const pnl = await openMap(conn, MapNames.PNL_BLUE, dailyPnlSchema);
      const beats = await openMap(conn, MapNames.HEARTBEAT, heartbeatSchema);
      this.scans = await openMap(conn, MapNames.FEATURES, featureScanSchema);
      const invalid = (topic: 'health' | 'trader' | 'pnl') => (key: string, err: unknown) => {
        logger.warn({ err, key, topic }, 'invalid value in map; the page keeps the last good one');
        model.sourceError(topic, `invalid value at ${key}: ${message(err)}`);
      };
      this.watches.push(
        watchMap(conn, health, { key: Keys.META_HEALTH_LATEST, onUpdate: (u) => model.onHealth(u.value), onInvalid: invalid('health'), logger }),
        watchMap(conn, state, { key: Keys.STATE_LATEST, onUpdate: (u) => model.onTrader(u.value), onInvalid: invalid('trader'), logger }),
        watchMap(conn, pnl, { onUpdate: (u) => model.onPnl(u.key, u.value), onInvalid: invalid('pnl'), logger }),
        watchMap(conn, beats, { onUpdate: (u) => model.onHeartbeat(u.value), onInvalid: () => undefined, logger }),
      );
      const onScanEvent = () => this.scheduleScanRead();
      this.scanRegistration = await this.scans.raw.addEntryListener({ added: onScanEvent, updated: onScanEvent }, Keys.LATEST_EIGEN_SCAN, false);
      this.scheduleScanRead();
      await Promise.all(this.watches.map((w) => w.ready));
      logger.info('dashboard listening to the cluster');
    } catch (err) {
      // Registered listeners come back with the connection; what failed is tried on the next one.
      logger.warn({ err }, 'could not set up every listener; trying again on the next connection');
      this.started = false;
      await Promise.all(this.watches.splice(0).map((w) => w.close().catch(() => undefined)));
      if (this.scans && this.scanRegistration) await this.scans.raw.removeEntryListener(this.scanRegistration).catch(() => false);
      this.scanRegistration = undefined;
    }
  }

  private scheduleScanRead(): void {
    if (this.scanTimer || !this.scans) return;
    const wait = Math.max(0, this.lastScanRead + SCAN_READ_MS - Date.now());
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      void this.readScan();
    }, wait);
  }

  private async readScan(): Promise<void> {
    if (this.scanReading || !this.scans) return;
    this.scanReading = true;
    this.lastScanRead = Date.now();
    try {
      const scan = await this.scans.get(Keys.LATEST_EIGEN_SCAN);
      if (scan) this.o.model.onScan(scan);
    } catch (err) {
      if (this.o.conn.isConnected()) this.o.model.sourceError('scan', `reading the latest scan: ${message(err)}`);
    } finally {
      this.scanReading = false;
    }
  }

  private async pollSupervisor(): Promise<void> {
    const client = ControlClient.fromRunFile(this.o.runFile, Math.min(2_000, this.o.pollMs));
    if (!client) return this.o.model.onSupervisor(new Error(`no supervisor runs (no ${this.o.runFile}): the table comes from heartbeats`));
    try {
      const status = await client.status();
      this.o.model.onSupervisor(status.services.map((s): SupervisedRow => ({
        name: s.name, state: s.state, pid: s.pid, critical: s.critical, uptimeS: s.uptimeS, restarts: s.restarts,
        usage: s.usage, detail: s.detail, heartbeat: s.heartbeat, schedule: s.schedule, lastExit: s.lastExit,
      })));
    } catch (err) {
      this.o.model.onSupervisor(new Error(`supervisor: ${message(err)}`));
    }
  }

  private async pollJobs(): Promise<void> {
    const get = async <T>(route: string): Promise<T> => {
      const res = await withTimeout(fetch(`${this.o.jobsUrl}${route}`, { signal: AbortSignal.timeout(2_000) }), 2_500, 'jobs API');
      if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
      return (await res.json()) as T;
    };
    try {
      // The jobs, and the daily batch's latest day report.
      const [jobs, reports] = await Promise.all([get<{ jobs?: JobsListing[] }>('/jobs'), get<{ reports?: DailyReportView[] }>('/reports?limit=1')]);
      this.o.model.onJobs(jobs.jobs ?? [], reports.reports?.[0] ?? null);
    } catch (err) {
      this.o.model.onJobs(new Error(`jobs API at ${this.o.jobsUrl}: ${message((err as Error).cause ?? err)}`));
    }
  }
}
