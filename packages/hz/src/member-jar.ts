import { existsSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { makeError, pinnedVersion, REPO_ROOT } from '@dolphin/core';
import { HzErrors } from './errors.ts';

export { REPO_ROOT };
export const MEMBER_CONFIG_FILE = path.join(REPO_ROOT, 'deploy/hazelcast/hazelcast.xml');
const FETCH_SCRIPT = path.join(REPO_ROOT, 'deploy/hazelcast/fetch-member.sh');

/** The pinned Hazelcast version from scripts/versions.env. */
export function pinnedHazelcastVersion(): string {
  return pinnedVersion('HZ');
}

function cacheDir(env: NodeJS.ProcessEnv): string {
  return env.DOLPHIN_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'dolphin');
}

/**
 * Path of the member jar: $DOLPHIN_HZ_JAR, else the pinned version in Dolphin's cache, fetched
 * with deploy/hazelcast/fetch-member.sh (Maven) when it is not there yet.
 */
export function resolveMemberJar(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOLPHIN_HZ_JAR) {
    if (!existsSync(env.DOLPHIN_HZ_JAR)) {
      throw makeError(HzErrors.DOLPHIN_HZ_JAR_NOT_FOUND, `DOLPHIN_HZ_JAR=${env.DOLPHIN_HZ_JAR}: no such file`);
    }
    return env.DOLPHIN_HZ_JAR;
  }
  const version = pinnedHazelcastVersion();
  const jar = path.join(cacheDir(env), 'hazelcast', version, `hazelcast-${version}.jar`);
  if (existsSync(jar) && statSync(jar).size > 0) return jar;
  try {
    return execFileSync(FETCH_SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env }).trim();
  } catch (cause) {
    throw makeError(HzErrors.DOLPHIN_HZ_JAR_NOT_FOUND, `${jar}: missing and ${FETCH_SCRIPT} failed`, { cause });
  }
}

/** The java binary: explicit home, $DOLPHIN_JAVA, $JAVA_HOME/bin/java, then java on PATH. */
export function resolveJava(javaHome?: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    javaHome && path.join(javaHome, 'bin/java'),
    env.DOLPHIN_JAVA,
    env.JAVA_HOME && path.join(env.JAVA_HOME, 'bin/java'),
    ...(env.PATH ?? '').split(path.delimiter).map((dir) => dir && path.join(dir, 'java')),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw makeError(HzErrors.DOLPHIN_HZ_JAVA_NOT_FOUND, 'no java found: set member.javaHome, DOLPHIN_JAVA or JAVA_HOME, or put java (17+) on PATH');
}
