import { loadConfig, createLogger } from '@dolphin/core';
import { startMember, resolveMemberJar } from '@dolphin/hz';

export interface MemberStartOptions {
  port?: number;
  cluster?: string;
  members?: string;
}

/** A member in the foreground (for a multi-machine cluster or a unit file); Ctrl-C stops it. */
export async function memberStart(o: MemberStartOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ service: 'hazelcast-member', level: config.log.level, pretty: config.log.pretty });
  const port = o.port ?? config.member.port;
  const member = await startMember({
    port,
    clusterName: o.cluster ?? config.hazelcast.clusterName,
    members: o.members ? o.members.split(',') : [`127.0.0.1:${port}`],
    heapMb: config.member.heapMb,
    startTimeoutMs: config.member.startTimeoutMs,
    extraJvmArgs: config.member.jvmArgs,
    logger,
    ...(config.member.javaHome ? { javaHome: config.member.javaHome } : {}),
  });
  console.log(`member ready on ${member.address} in ${Math.round(member.startMs)} ms (pid ${member.pid})`);
  return new Promise((resolve) => {
    const stop = () => void member.stop(config.member.stopTimeoutMs).then(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void member.exited.then((e) => resolve(e.code === 0 ? 0 : 1));
  });
}

export function memberJar(): number {
  console.log(resolveMemberJar());
  return 0;
}
