import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createLogger, dailyPnlSchema, featureScanSchema, INDICATOR_PUBLISHERS, Keys, loadConfig, MapNames, safetySchema, traderStateSchema, type Logger } from '@dolphin/core';
import { connect, openMap, startMember, watchMap, type HzConnection, type MemberHandle, type Watch } from '@dolphin/hz';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { ManagedChild } from '../children.ts';
import { claimPidFile } from '../pidfile.ts';
import { LOG_DIR, REPO_ROOT, UP_PID_FILE } from '../paths.ts';
import { scanLine } from '../scan-view.ts';
import { TradeView } from '../trade-view.ts';

export interface UpOptions {
  demo: boolean;
  port?: number;
  /** Demo producer rate, scans per second. */
  rate?: number;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024 / 1024)} MB`);
const say = (line: string) => console.log(`dolphin: ${line}`);

/**
 * The services `up` runs, in start order (stopped in reverse): the indicators (one process, or
 * one per publisher when `indicators.processes` is `each`), safety, the scan bridge, the trader.
 */
function services(demo: boolean, rate: number, env: NodeJS.ProcessEnv, indicatorProcesses: 'one' | 'each'): ManagedChild[] {
  const node = process.execPath;
  const service = (name: string, dir = name, args: string[] = []) => new ManagedChild({
    name, command: node, args: [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, `services/${dir}/src/main.ts`), ...args], env, logFile: path.join(LOG_DIR, `${name}.log`), waitReady: true,
  });
  const indicators = indicatorProcesses === 'one'
    ? [service('indicators')]
    : INDICATOR_PUBLISHERS.map((p) => service(`indicators-${p}`, 'indicators', ['--only', p]));
  const list = [...indicators, service('safety'), service('scan-bridge'), service('event-trader')];
  if (demo) {
    list.push(new ManagedChild({
      name: 'producer', command: node, args: [path.join(REPO_ROOT, 'cli/src/main.ts'), 'produce', '--rate', String(rate)],
      env, logFile: path.join(LOG_DIR, 'producer.log'), waitReady: false,
    }));
  }
  return list;
}

/**
 * Runs Dolphin on this machine: a local Hazelcast member (unless HZ_MEMBERS names a cluster),
 * then the services, until Ctrl-C or SIGTERM; then stops everything in reverse order.
 */
export async function up(options: UpOptions): Promise<number> {
  const config = loadConfig({ overrides: options.port ? { member: { port: options.port } } : {} });
  const logger: Logger = createLogger({ service: 'dolphin-up', level: config.log.level, pretty: config.log.pretty });
  const claim = claimPidFile(UP_PID_FILE);
  if ('heldBy' in claim) {
    console.error(`dolphin: already running (pid ${claim.heldBy}); stop it with Ctrl-C in its terminal or kill -TERM ${claim.heldBy}`);
    return 1;
  }
  mkdirSync(LOG_DIR, { recursive: true });

  let member: MemberHandle | undefined;
  let conn: HzConnection | undefined;
  const watches: Watch[] = [];
  const started: ManagedChild[] = [];
  let stopping = false;
  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping Dolphin');
    for (const w of watches) await w.close();
    for (const child of [...started].reverse()) {
      const exit = await child.stop(config.shutdown.componentTimeoutMs * 2);
      say(`${child.spec.name} stopped (${exit.code ?? exit.signal})`);
    }
    await conn?.shutdown();
    if (member) {
      const exit = await member.stop(config.member.stopTimeoutMs);
      say(`hazelcast member stopped (${exit.code ?? exit.signal})`);
    }
    claim.release();
  };

  try {
    if (process.env.HZ_MEMBERS) {
      say(`joining the cluster at ${config.hazelcast.members.join(',')}; no local member`);
    } else {
      member = await startMember({
        port: config.member.port,
        clusterName: config.hazelcast.clusterName,
        heapMb: config.member.heapMb,
        startTimeoutMs: config.member.startTimeoutMs,
        extraJvmArgs: config.member.jvmArgs,
        logFile: path.join(LOG_DIR, 'hazelcast.log'),
        logger,
        ...(config.member.javaHome ? { javaHome: config.member.javaHome } : {}),
      });
      say(`hazelcast member ready on ${member.address} (cluster ${config.hazelcast.clusterName}) in ${Math.round(member.startMs)} ms, RSS ${mb(member.rssBytes())}; log ${path.join(LOG_DIR, 'hazelcast.log')}`);
    }
    const members = member ? [member.address] : config.hazelcast.members;
    const settings = { ...config.hazelcast, members };
    if (!member) say(`connecting to ${members.join(',')} (waits until the cluster answers)`);
    conn = await connect({ settings, logger, name: 'dolphin-up' });

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...SERVICE_ENV,
      HZ_MEMBERS: members.join(','),
      HZ_CLUSTER_NAME: config.hazelcast.clusterName,
      DOLPHIN_ENV: config.env,
      DOLPHIN__log__pretty: '"never"',
    };
    for (const child of services(options.demo, options.rate ?? 0.2, env, config.indicators.processes)) {
      started.push(child); // before start(): one that fails to become ready is still stopped
      await child.start();
      say(`${child.spec.name} running (pid ${child.pid}); log ${child.spec.logFile}`);
      void child.exited.then((e) => {
        if (!stopping) say(`${child.spec.name} exited unexpectedly (${e.code ?? e.signal}); see ${child.spec.logFile}`);
      });
    }

    // The posture as the safety service decides it: printed when it changes, with its reasons.
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
    const scanWatch = watchMap(conn, features, {
      key: Keys.LATEST_EIGEN_SCAN,
      onUpdate: ({ value, source }) => {
        const now = Date.now();
        if (now - lastPrint < 1_000) { unprinted++; return; }
        lastPrint = now;
        const more = unprinted > 0 ? ` (+${unprinted} more in the last second)` : '';
        unprinted = 0;
        say(`${source === 'event' ? '' : '[current] '}${scanLine(value)}${more}`);
      },
    });
    watches.push(scanWatch);
    await Promise.all(watches.map((w) => w.ready));
    say(`scans: ${config.scans.dir}${options.demo ? ` (demo producer, ${options.rate ?? 0.2} scans/s)` : ''}`);
    say('running; Ctrl-C stops everything');
  } catch (err) {
    logger.error({ err }, 'start failed');
    console.error(`dolphin: ${(err as Error).message}`);
    await stopAll('start failed');
    return 1;
  }

  return new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      say(`${sig}: stopping`);
      void stopAll(`signal ${sig}`).then(() => resolve(0));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void member?.exited.then((exit) => {
      if (stopping) return;
      console.error(`dolphin: the hazelcast member exited unexpectedly (${JSON.stringify(exit)}); see ${path.join(LOG_DIR, 'hazelcast.log')}`);
      void stopAll('member exited').then(() => resolve(1));
    });
  });
}
