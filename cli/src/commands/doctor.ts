import { spawnSync } from 'node:child_process';
import { loadConfig } from '@dolphin/core';
import { memberHealth, pinnedHazelcastVersion, resolveJava, resolveMemberJar } from '@dolphin/hz';

function javaVersion(java: string): string {
  // `java -version` prints to stderr
  const r = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  return (r.stderr || r.stdout || '').split('\n')[0] || 'does not run';
}

/** What Dolphin runs on here, and whether the configured cluster answers. */
export async function doctor(): Promise<number> {
  let ok = true;
  const line = (what: string, value: string, good = true) => {
    if (!good) ok = false;
    console.log(`${good ? 'ok  ' : 'FAIL'} ${what.padEnd(18)} ${value}`);
  };
  line('node', `${process.version} (${process.execPath})`, process.versions.node.startsWith('24.'));
  try {
    const java = resolveJava();
    line('java', `${java}: ${javaVersion(java)}`);
  } catch (err) {
    line('java', (err as Error).message, false);
  }
  try {
    line('hazelcast jar', `${resolveMemberJar()} (pinned ${pinnedHazelcastVersion()})`);
  } catch (err) {
    line('hazelcast jar', (err as Error).message, false);
  }
  try {
    const cfg = loadConfig();
    line('config', `env ${cfg.env}, cluster ${cfg.hazelcast.clusterName}, members ${cfg.hazelcast.members.join(',')}`);
    for (const address of cfg.hazelcast.members) {
      const h = await memberHealth(address);
      console.log(`     member ${address}: ${h ? `${h.nodeState}, cluster size ${h.clusterSize}, safe ${h.clusterSafe}` : 'not answering (start one with ./dolphin up)'}`);
    }
  } catch (err) {
    line('config', (err as Error).message, false);
  }
  return ok ? 0 : 1;
}
