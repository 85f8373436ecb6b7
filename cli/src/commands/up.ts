import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createLogger, loadConfig, type Logger } from '@dolphin/core';
import { connect, startMember, type MemberHandle } from '@dolphin/hz';
import { claimPidFile } from '../pidfile.ts';
import { LOG_DIR, UP_PID_FILE } from '../paths.ts';

export interface UpOptions {
  demo: boolean;
  port?: number;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024 / 1024)} MB`);

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
  const external = Boolean(process.env.HZ_MEMBERS);
  let stopping = false;
  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping Dolphin');
    await conn?.shutdown();
    if (member) {
      const exit = await member.stop(config.member.stopTimeoutMs);
      logger.info({ exit }, 'hazelcast member stopped');
    }
    claim.release();
  };

  let conn: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    if (external) {
      logger.info({ members: config.hazelcast.members }, 'joining the cluster in HZ_MEMBERS; no local member');
    } else {
      const port = config.member.port;
      member = await startMember({
        port,
        clusterName: config.hazelcast.clusterName,
        heapMb: config.member.heapMb,
        startTimeoutMs: config.member.startTimeoutMs,
        logFile: path.join(LOG_DIR, 'hazelcast.log'),
        logger,
        ...(config.member.javaHome ? { javaHome: config.member.javaHome } : {}),
      });
      console.log(`dolphin: hazelcast member ready on ${member.address} (cluster ${config.hazelcast.clusterName}) in ${Math.round(member.startMs)} ms, RSS ${mb(member.rssBytes())}; log ${path.join(LOG_DIR, 'hazelcast.log')}`);
    }
    const settings = member ? { ...config.hazelcast, members: [member.address] } : config.hazelcast;
    conn = await connect({ settings, logger, name: 'dolphin-up', firstConnectTimeoutMs: 60_000 });
    const objects = await conn.client.getDistributedObjects();
    console.log(`dolphin: connected to ${settings.members.join(',')}; ${objects.length} distributed objects`);
    console.log(options.demo
      ? 'dolphin: demo mode: no services are installed in this checkout yet; the member runs alone'
      : 'dolphin: no services are installed in this checkout yet; the member runs alone');
    console.log('dolphin: running; Ctrl-C stops everything');
  } catch (err) {
    logger.error({ err }, 'start failed');
    console.error(`dolphin: ${(err as Error).message}`);
    await stopAll('start failed');
    return 1;
  }

  return new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      console.log(`dolphin: ${sig}: stopping`);
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
