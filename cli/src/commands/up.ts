import { readFileSync } from 'node:fs';
import { strategyParamsSchema } from '@dolphin/strategy';
import path from 'node:path';
import { CoreErrors, fromRoot, isDolphinError, makeError, parseClusterFile, createLogger, dailyPnlSchema, featureScanSchema, heartbeatSchema, Keys, loadConfig, MapNames, safetySchema, traderStateSchema, type Logger, type ServiceRegistry } from '@dolphin/core';
import { connect, openMap, openSeal, watchMap, withTimeout, type HzConnection, type Watch } from '@dolphin/hz';
import { secureDir } from '@dolphin/service-kit';
import { DevReloader, effectiveRegistry, entry, placeHost, removeRunFile, serveControl, Supervisor, writeRunFile, type ProcessState, type ProcessStatus } from '@dolphin/supervisor';
import { claimPidFile } from '../pidfile.ts';
import { LOG_DIR, REPO_ROOT, SUPERVISOR_RUN_FILE, UP_PID_FILE } from '../paths.ts';
import { scanLine } from '../scan-view.ts';
import { TradeView } from '../trade-view.ts';

export interface UpOptions {
  demo: boolean;
  port?: number;
  /** Demo producer rate, scans per second. */
  rate?: number;
  /** This machine's host in the cluster file (--host, DOLPHIN_HOST). */
  host?: string;
  /** The cluster file (--cluster, DOLPHIN_CLUSTER_FILE): what runs on which host. */
  cluster?: string;
  /** `dolphin dev`: watch the sources and restart what a change touches. */
  dev?: {
    /** Only these services (and what they depend on); all when empty. */
    services: string[];
    /** A service that crashes: wait for the next change (default), or restart it with backoff. */
    onCrash: 'wait' | 'backoff';
  };
}

const say = (line: string) => console.log(`dolphin: ${line}`);

/** Dev mode's registry: the services asked for and what they depend on; a crash waits for the next edit unless asked otherwise. */
function devRegistry(registry: ServiceRegistry, dev: NonNullable<UpOptions['dev']>): ServiceRegistry {
  const unknown = dev.services.filter((s) => !(s in registry));
  if (unknown.length > 0) throw new Error(`no such service: ${unknown.join(', ')} (the registry has ${Object.keys(registry).join(', ')})`);
  const keep = new Set<string>();
  const add = (name: string) => {
    if (keep.has(name) || !registry[name]) return;
    keep.add(name);
    for (const d of registry[name].dependsOn) add(d);
  };
  for (const name of dev.services.length > 0 ? dev.services : Object.keys(registry)) add(name);
  const out: ServiceRegistry = {};
  for (const name of keep) {
    const e = registry[name] as ServiceRegistry[string];
    out[name] = e.kind === 'service' && dev.onCrash === 'wait' ? { ...e, restart: { ...e.restart, mode: 'never' } } : e;
  }
  return out;
}

/** The registry `up` runs: the configured one, plus the demo producer with --demo. */
function registryFor(config: ReturnType<typeof loadConfig>, options: UpOptions, ownMember: boolean): ServiceRegistry {
  let registry = effectiveRegistry(config, { ownMember });
  if (options.dev) registry = devRegistry(registry, options.dev);
  if (options.demo) {
    registry.producer = entry({
      kind: 'command',
      command: [process.execPath, path.join(REPO_ROOT, 'cli/src/main.ts'), 'produce', '--rate', String(options.rate ?? 0.2)],
      dependsOn: 'scan-bridge' in registry ? ['scan-bridge'] : [],
      readiness: { kind: 'none' },
      restart: { mode: 'on-failure' },
      heartbeat: false,
    });
  }
  return registry;
}

/** What `up` prints as processes change state: the moments an operator cares about. */
function stateLine(name: string, to: ProcessState, from: ProcessState, detail: string | undefined, s: ProcessStatus | undefined, member: string, cluster: string): string | undefined {
  if (to === 'running') {
    return name === 'member'
      ? `hazelcast member ready on ${member} (cluster ${cluster}, pid ${s?.pid}) in ${s?.readyMs} ms; log ${s?.logFile}`
      : `${name} running (pid ${s?.pid}, ready in ${s?.readyMs} ms); ${s?.url ? `open ${s.url} · ` : ''}log ${s?.logFile}`;
  }
  if (to === 'backoff') return `${name}: ${detail ?? 'exited'}`;
  // A scheduled entry's run ended: its exit and its next run.
  if (to === 'scheduled' && from !== 'scheduled' && from !== 'stopped') return `${name}: ${detail ?? 'run ended'}`;
  if (to === 'failed') return `${name} FAILED: ${detail ?? ''}`;
  if (to === 'stopping' && from === 'running' && detail && !detail.startsWith('supervisor')) return `${name}: ${detail}`;
  return undefined;
}

/**
 * Runs Dolphin on this machine under the supervisor: a local Hazelcast member (unless HZ_MEMBERS
 * names a cluster), then every service of the registry in dependency order, until Ctrl-C,
 * SIGTERM or `dolphin down`; then stops everything in reverse order.
 */
export async function up(options: UpOptions): Promise<number> {
  let config = loadConfig({ overrides: options.port ? { member: { port: options.port } } : {} });
  const clusterFile = options.cluster ?? process.env.DOLPHIN_CLUSTER_FILE;
  let placement: ReturnType<typeof placeHost> | undefined;
  if (clusterFile) {
    // Checked before anything starts: a bad file, host or address exits 78 with the field.
    try {
      placement = placeClusterHost(clusterFile, options.host ?? process.env.DOLPHIN_HOST, config.services);
    } catch (err) {
      if (!isDolphinError(err) || !err.code.startsWith('DOLPHIN_CLUSTER_')) throw err;
      console.error(`dolphin: ${err.message} (${err.code})`);
      return 78;
    }
    // The member binds to this host's address and joins the others (the later -D wins in the JVM).
    config = loadConfig({ overrides: { member: { port: placement.port, address: placement.address, jvmArgs: [...config.member.jvmArgs, `-Ddolphin.members=${placement.members.join(',')}`, ...(placement.members.length > 1 ? ['-Ddolphin.splitbrain=dolphin-majority'] : [])] }, hazelcast: { clusterName: placement.clusterName } } });
    config = { ...config, services: placement.registry };
    say(`host ${placement.host} (${placement.address}) of ${clusterFile}: runs ${placement.placed.join(', ')}`);
    for (const note of placement.notes) say(note);
  }
  // The supervisor's own log goes to its file; the terminal gets the lines below meant for a person.
  const logger: Logger = createLogger({ service: 'supervisor', level: config.log.level, file: path.join(LOG_DIR, 'supervisor.log') });
  const claim = claimPidFile(UP_PID_FILE);
  if ('heldBy' in claim) {
    console.error(`dolphin: already running (pid ${claim.heldBy}); see it with dolphin status, stop it with dolphin down`);
    return 1;
  }
  // Folders and files an earlier version left readable by every local user are tightened.
  for (const dir of [LOG_DIR, path.dirname(UP_PID_FILE), config.stateDir]) secureDir(dir);
  // The key the services seal their values with, made here first (0600) so that they all find
  // one; up's own clients check what they print with it.
  const seal = openSeal(config.stateDir, config.security.keyFile, { create: true });
  const ownMember = !process.env.HZ_MEMBERS;
  const members = placement ? placement.members : ownMember ? [`${config.member.address}:${config.member.port}`] : config.hazelcast.members;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HZ_MEMBERS: members.join(','),
    HZ_CLUSTER_NAME: config.hazelcast.clusterName,
    DOLPHIN_ENV: config.env,
    // What `up` was told (--port) reaches every child: meta-health checks the member it runs.
    DOLPHIN__member__port: String(config.member.port),
    // ...and the address its member binds (a cluster host's own), and which host this is.
    DOLPHIN__member__address: JSON.stringify(config.member.address),
    ...(placement ? { DOLPHIN_HOST: placement.host } : {}),
    DOLPHIN__log__pretty: '"never"',
    DOLPHIN_SUPERVISOR_RUN_FILE: SUPERVISOR_RUN_FILE,
  };
  // For entries that are ready by their heartbeat: one client, made when first needed (the
  // member is the supervisor's own first process), connecting in the background.
  let beats: Promise<HzConnection> | undefined;
  const heartbeatOf = async (name: string) => {
    beats ??= connect({ settings: { ...config.hazelcast, members }, logger, name: 'supervisor-heartbeats', background: true, seal });
    const c = await beats;
    if (!c.isConnected()) return undefined;
    const hb = await withTimeout((await openMap(c, MapNames.HEARTBEAT, heartbeatSchema)).get(name), 1_000, 'read heartbeat').catch(() => undefined);
    return hb ? { pid: hb.pid, state: hb.state } : undefined;
  };
  const supervisor = new Supervisor({ registry: registryFor(config, options, ownMember), config, logDir: LOG_DIR, env, logger, heartbeatOf });
  supervisor.on('state', (name: string, to: ProcessState, from: ProcessState, detail?: string) => {
    const line = stateLine(name, to, from, detail, supervisor.get(name)?.status(), members[0] as string, config.hazelcast.clusterName);
    if (line) say(line);
  });
  supervisor.on('warning', (name: string, message: string) => say(`${name}: ${message}`));

  let conn: HzConnection | undefined;
  let reloader: DevReloader | undefined;
  const watches: Watch[] = [];
  let stopping: Promise<void> | undefined;
  let control: Awaited<ReturnType<typeof serveControl>> | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });
  const stopAll = (why: string, code = 0) => {
    stopping ??= (async () => {
      logger.info({ why }, 'stopping Dolphin');
      await reloader?.close();
      for (const w of watches) await w.close().catch(() => undefined);
      await conn?.shutdown().catch(() => undefined); // before the member goes: no reconnect attempts
      await supervisor.stopAll();
      await beats?.then((c) => c.shutdown()).catch(() => undefined);
      for (const p of [...supervisor.processes].reverse()) {
        const e = p.status().lastExit;
        // A JVM ends SIGTERM with exit code 143 (128 + 15): that is a clean stop, say it so.
        say(`${p.name} stopped${e ? ` (${e.code === 143 ? 'SIGTERM' : e.code ?? e.signal})` : ''}`);
      }
      await control?.close();
      removeRunFile(SUPERVISOR_RUN_FILE);
      claim.release();
      resolveDone(code);
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping`);
    void stopAll(`signal ${sig}`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    control = await serveControl(supervisor, { port: config.supervisor.controlPort, logger, onShutdown: () => { say('dolphin down: stopping'); void stopAll('dolphin down'); } });
    writeRunFile(SUPERVISOR_RUN_FILE, { pid: process.pid, port: control.port, token: control.token, startedAt: new Date().toISOString(), logDir: LOG_DIR });
    say(`supervisor on 127.0.0.1:${control.port} (pid ${process.pid}); dolphin status shows every process; log ${path.join(LOG_DIR, 'supervisor.log')}`);
    if (!ownMember) say(`joining the cluster at ${members.join(',')}; no local member`);
    await supervisor.startAll();
    if (stopping) return await done;
    const member = supervisor.get('member');
    if (member?.state === 'failed') {
      console.error(`dolphin: the hazelcast member could not start: ${member.status().detail ?? ''}; see ${member.status().logFile}`);
      await stopAll('member failed', 1);
      return await done;
    }
    conn = await connect({ settings: { ...config.hazelcast, members }, logger, name: 'dolphin-up', seal });
    await watchTrading(conn, watches);
    say(`scans: ${config.scans.dir}${options.demo ? ` (demo producer, ${options.rate ?? 0.2} scans/s)` : ''}`);
    if (options.dev) {
      const registry = Object.fromEntries(supervisor.processes.map((p) => [p.name, p.entry])) as ServiceRegistry;
      reloader = new DevReloader({ supervisor, registry, logger, say });
      await reloader.start();
      say(`dev: watching the sources of ${Object.values(registry).filter((e) => e.kind === 'service').length} services; a saved change restarts what loads it, with its state`);
    }
    const dashboard = supervisor.get('dashboard')?.status().url;
    if (dashboard) say(`dashboard: ${dashboard}`);
    say('running; Ctrl-C (or dolphin down) stops everything');
  } catch (err) {
    logger.error({ err }, 'start failed');
    console.error(`dolphin: ${(err as Error).message}`);
    await stopAll('start failed', 1);
  }
  return done;
}

/** The cluster file read and checked, and this host's part of it. */
function placeClusterHost(file: string, host: string | undefined, registry: ServiceRegistry): ReturnType<typeof placeHost> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(fromRoot(file), 'utf8'));
  } catch (err) {
    throw makeError(CoreErrors.DOLPHIN_CLUSTER_FILE_INVALID, `${file}: cannot read it as JSON: ${(err as Error).message}`, { cause: err });
  }
  // A colour's parameters are the strategy's own: checked against its schema, field by field.
  return placeHost({ cluster: parseClusterFile(raw, { source: file, paramsSchema: strategyParamsSchema }), source: file, host, registry });
}

/** Prints what the trading path does: posture changes, scans (at most one a second), trades and PnL. */
async function watchTrading(conn: HzConnection, watches: Watch[]): Promise<void> {
  let lastPosture = '';
  const safetyMap = await openMap(conn, MapNames.SAFETY, safetySchema);
  watches.push(watchMap(conn, safetyMap, {
    key: Keys.SAFETY_LATEST,
    onUpdate: ({ value }) => {
      const line = `${value.posture} size ×${value.size_scale.toFixed(2)}`;
      if (line === lastPosture) return;
      lastPosture = line;
      say(`safety: ${line}${value.reasons.length > 0 ? ` — ${value.reasons.join('; ')}` : ''}`);
    },
  }));
  const trades = new TradeView(say);
  const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
  watches.push(watchMap(conn, stateMap, { key: Keys.STATE_LATEST, onUpdate: (u) => trades.onState(u.value) }));
  const pnlMap = await openMap(conn, MapNames.PNL_BLUE, dailyPnlSchema);
  watches.push(watchMap(conn, pnlMap, { onUpdate: (u) => trades.onPnl(u.value) }));
  const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);
  let lastPrint = 0;
  let unprinted = 0;
  watches.push(watchMap(conn, features, {
    key: Keys.LATEST_EIGEN_SCAN,
    onUpdate: ({ value, source }) => {
      const now = Date.now();
      if (now - lastPrint < 1_000) { unprinted++; return; }
      lastPrint = now;
      const more = unprinted > 0 ? ` (+${unprinted} more in the last second)` : '';
      unprinted = 0;
      say(`${source === 'event' ? '' : '[current] '}${scanLine(value)}${more}`);
    },
  }));
  await Promise.all(watches.map((w) => w.ready));
}
