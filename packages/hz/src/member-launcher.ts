import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { makeError, type Logger } from '@dolphin/core';
import { HzErrors } from './errors.ts';
import { portAnswers } from './ports.ts';
import { MEMBER_CONFIG_FILE, resolveJava, resolveMemberJar } from './member-jar.ts';

export interface MemberOptions {
  port: number;
  /** The one address the member binds to and advertises (never 0.0.0.0); default 127.0.0.1. */
  address?: string;
  clusterName?: string;
  /** Addresses to join (TCP-IP); default: this member alone. */
  members?: readonly string[];
  jar?: string;
  configFile?: string;
  javaHome?: string;
  heapMb?: number;
  startTimeoutMs?: number;
  /** Append the member's own output to this file. */
  logFile?: string;
  logger?: Logger;
  extraJvmArgs?: readonly string[];
}

export interface MemberExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface MemberHandle {
  readonly pid: number;
  readonly port: number;
  readonly address: string;
  readonly clusterName: string;
  /** Milliseconds from spawn to the health check answering ready. */
  readonly startMs: number;
  readonly exited: Promise<MemberExit>;
  /** SIGTERM to the member's process group (graceful), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<MemberExit>;
  /** Abrupt death of the whole process group (tests, crash drills). */
  kill(): Promise<MemberExit>;
  /** Resident set size of the JVM, from /proc; undefined once it is gone. */
  rssBytes(): number | undefined;
  /** The member's last output lines. */
  tail(): string;
}

// Hazelcast asks for these to use its fast paths on Java 9+ (it warns at start otherwise).
const MODULE_ARGS = [
  '--add-modules', 'java.se',
  '--add-exports', 'java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens', 'java.base/java.lang=ALL-UNNAMED',
  '--add-opens', 'java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens', 'java.management/sun.management=ALL-UNNAMED',
  '--add-opens', 'jdk.management/com.sun.management.internal=ALL-UNNAMED',
];

const TAIL_LINES = 60;
/** Loopback: a member alone on its machine, and every test. */
export const DEFAULT_MEMBER_ADDRESS = '127.0.0.1';
const SETPRIV = '/usr/bin/setpriv';

/**
 * Serial GC unless the extra arguments choose a collector: its single GC thread never takes
 * every core of a small machine away from the Node processes on the trading path. Measured with
 * bench/bridge.ts on 2 cores: rename→put p99 at 100 scans/s 5.3 ms with it, 38 ms with G1.
 */
function gcArgs(extra: readonly string[]): string[] {
  return extra.some((a) => /^-XX:\+Use\w+GC$/.test(a)) ? [] : ['-XX:+UseSerialGC'];
}

/** The JVM command line of a member (also used by the systemd unit generator). */
export function memberJvmArgs(o: Required<Pick<MemberOptions, 'port' | 'clusterName' | 'jar' | 'configFile' | 'heapMb'>> & { address?: string; members: readonly string[]; extra?: readonly string[] }): string[] {
  return [
    ...gcArgs(o.extra ?? []),
    `-Xms${Math.min(128, o.heapMb)}m`,
    `-Xmx${o.heapMb}m`,
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.net.preferIPv4Stack=true',
    '-Dhazelcast.phone.home.enabled=false',
    '-Dhazelcast.shutdownhook.policy=GRACEFUL',
    `-Dhazelcast.config=${o.configFile}`,
    `-Ddolphin.cluster=${o.clusterName}`,
    `-Ddolphin.port=${o.port}`,
    // hazelcast.xml binds to and advertises this address only: it has no default of its own.
    `-Ddolphin.address=${o.address ?? DEFAULT_MEMBER_ADDRESS}`,
    `-Ddolphin.members=${o.members.join(',')}`,
    ...MODULE_ARGS,
    ...(o.extra ?? []),
    '-cp', o.jar,
    'com.hazelcast.core.server.HazelcastMemberStarter',
  ];
}

async function healthReady(address: string, port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}:${port}/hazelcast/health/ready`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

function readRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

/**
 * Starts a Hazelcast member as a child process and resolves once its health check says ready.
 * The JVM runs in its own process group (stopped as a group) and, on Linux, with a parent-death
 * signal (setpriv --pdeathsig), so no member outlives the process that started it, even one
 * killed with SIGKILL.
 */
export async function startMember(options: MemberOptions): Promise<MemberHandle> {
  const port = options.port;
  const address = options.address ?? DEFAULT_MEMBER_ADDRESS;
  const clusterName = options.clusterName ?? 'dolphin';
  const jar = options.jar ?? resolveMemberJar();
  const configFile = options.configFile ?? MEMBER_CONFIG_FILE;
  if (!existsSync(jar)) throw makeError(HzErrors.DOLPHIN_HZ_JAR_NOT_FOUND, `${jar}: no such file`);
  const java = resolveJava(options.javaHome);
  if (await portAnswers(address, port, 300)) {
    throw makeError(HzErrors.DOLPHIN_HZ_PORT_IN_USE, `member port ${address}:${port} is already in use`);
  }
  const args = memberJvmArgs({
    port, address, clusterName, jar, configFile,
    heapMb: options.heapMb ?? 512,
    members: options.members ?? [`${address}:${port}`],
    ...(options.extraJvmArgs ? { extra: options.extraJvmArgs } : {}),
  });
  const usePdeathsig = process.platform === 'linux' && existsSync(SETPRIV);
  const [cmd, argv] = usePdeathsig ? [SETPRIV, ['--pdeathsig', 'TERM', '--', java, ...args]] : [java, args];

  const t0 = performance.now();
  const lines: string[] = [];
  const child = spawn(cmd, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('error', (err) => lines.push(`spawn failed: ${err.message}`));
  const pid = child.pid;
  if (pid === undefined) throw makeError(HzErrors.DOLPHIN_HZ_MEMBER_EXITED, `member on port ${port}: could not spawn ${cmd}`);
  options.logger?.info({ memberPid: pid, port, clusterName, jar }, 'hazelcast member starting');

  let logStream: WriteStream | undefined;
  if (options.logFile) {
    logStream = createWriteStream(options.logFile, { flags: 'a' });
    logStream.on('error', (err) => options.logger?.warn({ err, file: options.logFile }, 'cannot write the member log; keeping only its last lines'));
  }
  const collect = (chunk: Buffer) => {
    logStream?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const tail = () => lines.join('\n');

  const exited = new Promise<MemberExit>((resolve) => {
    child.once('exit', (code, signal) => {
      logStream?.end();
      process.off('exit', onParentExit);
      resolve({ code, signal });
    });
  });
  // Last resort on an orderly parent exit that forgot to stop the member.
  const onParentExit = () => signalGroup(child, 'SIGTERM');
  process.on('exit', onParentExit);

  const stop = async (timeoutMs = 15_000): Promise<MemberExit> => {
    signalGroup(child, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        options.logger?.warn({ memberPid: pid, port, timeoutMs }, 'hazelcast member ignored SIGTERM; killing its process group');
        signalGroup(child, 'SIGKILL');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([exited, forced]);
    clearTimeout(timer);
    return exited;
  };
  const kill = async (): Promise<MemberExit> => {
    signalGroup(child, 'SIGKILL');
    return exited;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let gone = false;
  void exited.then(() => { gone = true; });
  for (;;) {
    if (gone) {
      const how = await exited;
      throw makeError(HzErrors.DOLPHIN_HZ_MEMBER_EXITED,
        `member on port ${port} exited (code ${how.code}, signal ${how.signal}) before it was ready; last output:\n${tail()}`);
    }
    if (await healthReady(address, port)) break;
    if (Date.now() > deadline) {
      await stop(5_000);
      throw makeError(HzErrors.DOLPHIN_HZ_MEMBER_START_TIMEOUT,
        `member on port ${port} not ready within ${options.startTimeoutMs ?? 60_000} ms; last output:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const startMs = performance.now() - t0;
  options.logger?.info({ memberPid: pid, port, startMs: Math.round(startMs) }, 'hazelcast member ready');

  return {
    pid, port, clusterName, startMs, exited, stop, kill, tail,
    address: `${address}:${port}`,
    rssBytes: () => (gone ? undefined : readRss(pid)),
  };
}
