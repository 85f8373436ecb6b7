import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { spawnCollecting, type SpawnedProcess } from './processes.ts';

/**
 * N "hosts" for multi-host tests and benches: network namespaces this fixture makes, each with one
 * veth link to a bridge in a "switch" namespace of its own, addressed in 127.0.0.0/8.
 *
 *   root ns (untouched)        switch ns `<tag>-sw`            host ns `<tag>-1` …
 *                              br0 ── h1 (veth) ─────────────── eth0 127.A.B.1/24, lo 127.0.0.1
 *                                  ── h2 (veth) ─────────────── eth0 127.A.B.2/24 (in `<tag>-2`)
 *
 * Nothing is made in the root namespace: no interface, no route, no sysctl. From the root
 * namespace a host's address is just another 127.x address of its own loopback (the kernel's
 * local 127.0.0.0/8 route): a connect reaches the root's own listeners or is refused, never a host.
 *
 * What 127.x over veth needs, measured on this kernel:
 * - `route_localnet=1` (all, default, lo, eth0) in each host namespace; without it a route lookup for
 *   127.A.B.2 fails with EINVAL (and the kernel drops ARP for loopback addresses).
 * - The local route `127.0.0.0/8 dev lo` deleted in each host namespace (127.0.0.1 stays local,
 *   127.0.0.2 and the like are no longer). With the tables merged (no `ip rule`), the /24 on eth0
 *   wins by longest prefix anyway; but once any `ip rule` is added in the namespace the local table
 *   is looked up first and its /8 swallows every 127.A.B.x (`route get` says `local … dev lo`).
 *   Without the /8 the lookup does not depend on that.
 * - The switch namespace needs nothing: the bridge is L2 only and has no address.
 *
 * A host dies (kill) when every process in its namespace gets SIGKILL and its link goes down; a
 * partition is the link down (the switch's port), and heal puts it up. Names carry the test
 * process's pid (`dolphin-h<pid>-<hex>`) and each instance takes its own /24 in 127.64.0.0/10, so
 * test files running at once do not collide; the next start removes the namespaces (and kills the
 * processes in them) of a fixture whose test process is gone. Processes spawned in a host carry a
 * parent-death SIGKILL (setpriv) so a killed test does not leave them running.
 *
 * Use:
 *   const why = await testHostsUnavailable();  // null, or say why on its own line
 *   const net = await startTestHosts(3);
 *   const [h1, h2] = net.hosts;
 *   const server = h1.spawn(process.execPath, ['server.js', h1.address]);
 *   await h2.run('/usr/bin/python3', ['-c', '…', h1.address]);
 *   await h2.partition(); await h2.heal(); await h1.kill(); await h1.revive();
 *   const { leftovers } = await net.stop();    // in afterAll too: it is idempotent
 */

/** A process started in a host: its own process group, output collected (see spawnCollecting). */
export type HostProcess = SpawnedProcess;

export interface HostRunResult {
  /** Exit code; null when killed by a signal (timedOut says if we killed it). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface HostRunOptions {
  /** The whole environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default 30 s; on expiry the command's process group gets SIGKILL and timedOut is set. */
  timeoutMs?: number;
  input?: string;
}

export interface TestHost {
  /** 'h1', 'h2', …: also the name of its port on the switch. */
  readonly name: string;
  /** The network namespace (`ip netns`), unique per fixture instance. */
  readonly netns: string;
  /** Its address on the switch, e.g. 127.77.5.1 (the /24 is the fixture's own). */
  readonly address: string;
  /** Starts argv inside the host in its own process group, tracked until it exits. Throws while the host is dead. */
  spawn(cmd: string, args: string[], opts?: { env?: NodeJS.ProcessEnv }): HostProcess;
  /** Runs argv to completion inside the host; never throws on exit status or timeout. */
  run(cmd: string, args: string[], opts?: HostRunOptions): Promise<HostRunResult>;
  /** SIGKILL to every process in the namespace (and every tracked process group), then the link down. */
  kill(): Promise<void>;
  /** The link between this host and the switch down: a partition. */
  partition(): Promise<void>;
  /** The link up again after partition(). */
  heal(): Promise<void>;
  /** After kill(): the link up, ready to start processes anew. */
  revive(): Promise<void>;
  /** Whether kill() has run without a revive() since. */
  readonly dead: boolean;
}

export interface TestHosts {
  readonly hosts: readonly TestHost[];
  /** The switch's namespace (holds the bridge and the switch side of each link). */
  readonly switchNetns: string;
  /** The fixture's /24, e.g. 127.77.5.0/24. */
  readonly subnet: string;
  /** How long start took. */
  readonly setupMs: number;
  /**
   * Kills every process in every host, deletes the namespaces and checks: leftovers names what
   * is still there (a namespace, a tracked process, an interface in the root namespace with the
   * fixture's tag); empty when clean. Idempotent.
   */
  stop(): Promise<{ leftovers: string[]; ms: number }>;
}

const TAG_PREFIX = 'dolphin-h';
const STALE = /^dolphin-h(\d+)-[0-9a-f]+-(?:sw|\d+)$/;

const which = (name: string) =>
  [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter(Boolean).map((d) => path.join(d, name)).find((p) => existsSync(p));

interface Exec { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }

/** Runs argv in its own process group, collecting output; SIGKILLs the group on timeout. */
function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}, onSpawn?: (pid: number) => void): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, detached: true, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (b: Buffer) => { stdout += b.toString('utf8'); });
    child.stderr?.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* gone */ }
    }, opts.timeoutMs ?? 30_000);
    child.once('error', (err) => { clearTimeout(timer); resolve({ code: null, signal: null, stdout, stderr: `${stderr}${String(err)}`, timedOut }); });
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
  });
}

/** `ip …` that must succeed. */
async function ip(...args: string[]): Promise<string> {
  const r = await exec(IP ?? 'ip', args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stderr.trim()}`);
  return r.stdout;
}

const IP = which('ip');
const SETPRIV = which('setpriv');

/** Running (a zombie waiting for its reaper is not). */
const alive = (pid: number) => {
  try { return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};

/** Processes whose network namespace is one of `inodes` (found through /proc: works after the name is gone). */
function pidsInNamespaces(inodes: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try { link = readlinkSync(`/proc/${entry}/ns/net`); } catch { continue; }
    const ns = inodes.get(/^net:\[(\d+)\]$/.exec(link)?.[1] ?? '');
    if (ns && alive(Number(entry))) found.push(`process ${entry} still in ${ns}`);
  }
  return found;
}

const netnsList = async () => (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
const netnsPids = async (ns: string) => (await exec(IP ?? 'ip', ['netns', 'pids', ns], { timeoutMs: 15_000 })).stdout.split(/\s+/).filter(Boolean).map(Number);

/** SIGKILL to every process in `ns` until none is left (a process may fork while we look). */
async function killAllIn(ns: string, groups: readonly number[] = []): Promise<void> {
  for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch { /* gone */ } }
  for (let round = 0; round < 50; round++) {
    const pids = (await netnsPids(ns)).filter((p) => p !== process.pid);
    if (pids.length === 0) return;
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`processes still in network namespace ${ns} after 50 rounds of SIGKILL: ${(await netnsPids(ns)).join(' ')}`);
}

/**
 * Why hosts cannot be made here, or null. Probes for real: a namespace with a bridge and a veth
 * pair (removed again), so a container without CAP_NET_ADMIN or the veth/bridge drivers says so.
 */
export async function testHostsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'it must run as root (it makes network namespaces, a bridge and veth links)';
  if (!IP) return 'ip (iproute2) is not installed';
  const probe = `${TAG_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-sw`;
  try {
    await ip('netns', 'add', probe);
  } catch (err) {
    return `cannot make a network namespace: ${(err as Error).message}`;
  }
  try {
    await ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    const r = await exec(IP, ['netns', 'exec', probe, 'sysctl', '-w', 'net.ipv4.conf.all.route_localnet=1'], { timeoutMs: 15_000 });
    if (r.code !== 0) return `cannot set route_localnet inside a namespace: ${r.stderr.trim()}`;
    return null;
  } catch (err) {
    return `cannot make a bridge and a veth pair in a namespace: ${(err as Error).message}`;
  } finally {
    await exec(IP, ['netns', 'del', probe], { timeoutMs: 15_000 });
  }
}

/** Namespaces of a fixture whose test process is gone: their processes killed, then deleted. */
async function reapStale(existing: readonly string[]): Promise<void> {
  for (const ns of existing) {
    const m = STALE.exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    try {
      await killAllIn(ns);
      await ip('netns', 'del', ns);
    } catch { /* another fixture reaping it at the same time */ }
  }
}

/** A /24 in 127.64.0.0/10 that no other fixture's host namespace uses (belt and braces: each switch is its own L2). */
async function pickSubnet(existing: readonly string[]): Promise<string> {
  const used = new Set<string>();
  for (const ns of existing.filter((n) => n.startsWith(TAG_PREFIX))) {
    const r = await exec(IP ?? 'ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { timeoutMs: 15_000 });
    for (const m of r.stdout.matchAll(/inet (127\.\d+\.\d+)\.\d+\//g)) used.add(m[1] as string);
  }
  for (;;) {
    const b = randomBytes(2);
    const prefix = `127.${64 + ((b[0] as number) & 63)}.${b[1] as number}`;
    if (!used.has(prefix)) return prefix;
  }
}

/** Makes n hosts on one switch. Throws (after removing what it made) if any step fails. */
export async function startTestHosts(n: number): Promise<TestHosts> {
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error(`startTestHosts(${n}): n must be an integer from 1 to 250`);
  if (!IP) throw new Error('startTestHosts: ip (iproute2) is not installed');
  const t0 = performance.now();
  const existing = await netnsList();
  await reapStale(existing);
  const tag = `${TAG_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const sw = `${tag}-sw`;
  const prefix = await pickSubnet(await netnsList());
  const made: string[] = [];
  const hosts: Host[] = [];
  let stopping: Promise<{ leftovers: string[]; ms: number }> | undefined;

  const stop = () => (stopping ??= (async () => {
    const s0 = performance.now();
    const leftovers: string[] = [];
    await Promise.all(hosts.map(async (h) => {
      try { await h.killProcesses(); } catch (err) { leftovers.push(String(err)); }
    }));
    // The namespaces' inodes, to find a process left in one once its name is gone.
    const inodes = new Map<string, string>();
    for (const ns of made) { try { inodes.set(String(statSync(`/run/netns/${ns}`).ino), ns); } catch { /* not mounted */ } }
    for (const ns of [...made].reverse()) {
      const r = await exec(IP, ['netns', 'del', ns], { timeoutMs: 15_000 });
      if (r.code !== 0) leftovers.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
    const left = await netnsList();
    for (const ns of made) if (left.includes(ns)) leftovers.push(`network namespace ${ns}`);
    for (const h of hosts) for (const p of h.tracked()) if (alive(p)) leftovers.push(`process ${p} started in ${h.netns}`);
    leftovers.push(...pidsInNamespaces(inodes));
    for (const line of (await ip('-o', 'link', 'show')).split('\n')) if (line.includes(tag)) leftovers.push(`root namespace interface: ${line.trim()}`);
    return { leftovers, ms: performance.now() - s0 };
  })());

  try {
    await ip('netns', 'add', sw);
    made.push(sw);
    await ip('-n', sw, 'link', 'set', 'lo', 'up');
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    // Hosts one at a time into `made` (so a failure removes exactly what exists), their set-up in parallel.
    for (let i = 1; i <= n; i++) {
      await ip('netns', 'add', `${tag}-${i}`);
      made.push(`${tag}-${i}`);
    }
    await Promise.all(Array.from({ length: n }, async (_, k) => {
      const i = k + 1;
      const ns = `${tag}-${i}`;
      const port = `h${i}`;
      const address = `${prefix}.${i}`;
      // The veth pair is made in the switch namespace with its peer straight in the host's: never in the root's.
      await ip('-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', sw, 'link', 'set', port, 'master', 'br0', 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      const sysctl = await exec(IP, ['netns', 'exec', ns, 'sysctl', '-qw', ...['all', 'default', 'lo', 'eth0'].map((c) => `net.ipv4.conf.${c}.route_localnet=1`)], { timeoutMs: 15_000 });
      if (sysctl.code !== 0) throw new Error(`sysctl route_localnet in ${ns}: ${sysctl.stderr.trim()}`);
      await ip('-n', ns, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      hosts[k] = new Host(port, ns, address, sw);
    }));
  } catch (err) {
    const { leftovers } = await stop();
    throw new Error(`startTestHosts(${n}) failed${leftovers.length ? ` (left: ${leftovers.join('; ')})` : ''}: ${(err as Error).message}`, { cause: err });
  }
  return { hosts, switchNetns: sw, subnet: `${prefix}.0/24`, setupMs: performance.now() - t0, stop };
}

class Host implements TestHost {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
  readonly #switchNetns: string;
  /** Running spawn() handles and run() promises. */
  readonly #live = new Set<HostProcess | Promise<unknown>>();
  /** The process groups of run() commands in flight. */
  readonly #runGroups = new Set<number>();
  /** Every pid spawn() started, for the leftover check. */
  readonly #pids = new Set<number>();
  #dead = false;

  constructor(name: string, netns: string, address: string, switchNetns: string) {
    this.name = name;
    this.netns = netns;
    this.address = address;
    this.#switchNetns = switchNetns;
  }

  get dead(): boolean { return this.#dead; }

  /** argv prefixed to enter the namespace; with setpriv, the process dies with the test process. */
  #enter(cmd: string, args: string[]): string[] {
    return ['netns', 'exec', this.netns, ...(SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL'] : []), cmd, ...args];
  }

  #refuseIfDead(what: string) {
    if (this.#dead) throw new Error(`${what} in ${this.name} (${this.netns}): the host is dead; revive() it first`);
  }

  spawn(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): HostProcess {
    this.#refuseIfDead(`spawn ${cmd}`);
    const p = spawnCollecting(IP as string, this.#enter(cmd, args), opts.env ?? process.env);
    if (p.child.pid !== undefined) this.#pids.add(p.child.pid);
    this.#live.add(p);
    void p.exited.then(() => { this.#live.delete(p); });
    return p;
  }

  async run(cmd: string, args: string[], opts: HostRunOptions = {}): Promise<HostRunResult> {
    this.#refuseIfDead(`run ${cmd}`);
    let group: number | undefined;
    const r = exec(IP as string, this.#enter(cmd, args), opts, (pid) => { group = pid; this.#runGroups.add(pid); });
    this.#live.add(r);
    try { return await r; } finally {
      this.#live.delete(r);
      if (group !== undefined) this.#runGroups.delete(group);
    }
  }

  /** Every pid this host's spawn() started (for the leftover check). */
  tracked(): number[] { return [...this.#pids]; }

  /** SIGKILL to every process in the namespace and every tracked group; waits for tracked handles to end. */
  async killProcesses(): Promise<void> {
    // The groups first: a spawn still between fork and setns is not in the namespace yet.
    const groups = [...this.#live].flatMap((p) => ('child' in p && p.child.pid !== undefined ? [p.child.pid] : [])).concat([...this.#runGroups]);
    await killAllIn(this.netns, groups);
    await Promise.all([...this.#live].map((p) => ('exited' in p ? p.exited : p)));
  }

  async kill(): Promise<void> {
    this.#dead = true;
    await this.killProcesses();
    await this.#link('down');
  }

  async partition(): Promise<void> { await this.#link('down'); }
  async heal(): Promise<void> { await this.#link('up'); }

  async revive(): Promise<void> {
    await this.#link('up');
    this.#dead = false;
  }

  /** The switch's port for this host: down leaves the host's eth0 without carrier. */
  async #link(state: 'up' | 'down'): Promise<void> {
    await ip('-n', this.#switchNetns, 'link', 'set', this.name, state);
  }
}
