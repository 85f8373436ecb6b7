import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The machine's own systemd booted as PID 1 of fresh pid, mount, cgroup, net, uts and ipc
 * namespaces, on an overlay of `/` whose upper layer is a tmpfs: the guest sees the whole machine
 * (the repo, ~/.cache/dolphin) and every write it makes lands in memory and dies with it.
 *
 * What stays on the host, and why: one sub-cgroup per cgroup hierarchy (the guest's cgroup
 * namespace is rooted there, so it cannot be made inside the namespace) and an empty temp folder
 * of mount points. Every mount lives in the guest's mount namespace and goes away with it.
 * /proc/sys is read-only inside (but for the netns's own /proc/sys/net), /sys is read-only, /dev
 * is a private tmpfs of fresh device nodes: the guest cannot change the host's sysctls or /dev.
 *
 * If the test process is killed, the parent-death signals (setpriv, unshare --kill-child) kill the
 * guest's PID 1 and with it the pid namespace; only the empty sub-cgroups
 * (`dolphin-systemd-host-<test pid>-<hex>`) and the temp folder remain. The next boot from the same
 * parent cgroup removes such sub-cgroups and folders whose test pid is gone.
 *
 * Use:
 *   const why = await systemdHostUnavailable();   // null, or say why on its own line
 *   const host = await bootSystemdHost();          // resolves at `running`, throws with the journal if not
 *   await host.run(['/work/main/dolphin', 'install'], { timeoutMs: 120_000 });
 *   await host.systemctl('start', 'dolphin-scan-bridge.service');
 *   await host.readCgroupFile('memory', 'dolphin-scan-bridge.service', 'memory.limit_in_bytes');
 *   await host.shutdown();                         // in afterAll too: it is idempotent
 *
 * Worth knowing:
 * - The guest's /tmp and /run are its own empty tmpfs; /work, /root and the rest are the host's as of
 *   now through the overlay (a host file changed later shows inside unless the guest has written it).
 * - `root` is /proc/<pid>/root: an absolute symlink found under it resolves against the host's /.
 * - run() commands live in the guest's namespaces but in the test process's cgroups, not the guest's.
 * - Shut down with no run() in flight: systemd-shutdown waits 10 s for a guest process whose parent
 *   (nsenter) is outside the namespace.
 * - Hybrid (v1 + unified) cgroup hosts only, as this machine is; a unified-only host would need the
 *   controllers delegated to a cgroup with no process in it, which a test process cannot arrange.
 */

export interface RunResult {
  /** Exit code; null when killed by a signal (timedOut says if we killed it). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Default 30 s; on expiry the command's process group is SIGKILLed and timedOut is set. */
  timeoutMs?: number;
  /** Added to the guest environment (PATH, HOME=/root, LANG=C.UTF-8). */
  env?: Record<string, string>;
  input?: string;
}

export interface ShutdownReport {
  /** poweroff: PID 1 powered off when asked; killed: it did not in time and was SIGKILLed; gone: it had already exited. */
  how: 'poweroff' | 'killed' | 'gone';
  ms: number;
  /** How the launcher (unshare, mirroring PID 1) ended. */
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** Anything that could not be removed (sub-cgroups, mounts seen on the host, temp dirs); empty when clean. */
  leftovers: string[];
}

export interface SystemdHost {
  /** The unique name: the guest's hostname, the sub-cgroups' name, the mount sources. */
  readonly name: string;
  /** The guest's PID 1 (systemd) as seen from the host. */
  readonly pid: number;
  /** The guest's / from the host (`/proc/<pid>/root`): read and write the guest's files here while it runs. */
  readonly root: string;
  /** The host directories of the guest's root cgroup, one per hierarchy (removed by shutdown). */
  readonly cgroups: readonly string[];
  /** How the boot went: state `running` (or `degraded` with allowDegraded), time from spawn to that state. */
  readonly boot: { state: string; ms: number; failedUnits: string[] };
  /** Runs argv in every namespace of the guest (nsenter -a). Never throws on exit status or timeout. */
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  systemctl(...args: string[]): Promise<RunResult>;
  /**
   * The host path of `unit`'s cgroup in the hierarchy holding `controller` ('memory', 'pids',
   * 'cpu', 'cpuacct', 'cpu,cpuacct', 'systemd' for name=systemd, 'unified' for the cgroup2 one),
   * asked of systemd (so units in any slice work). Throws if the unit has no cgroup (not running).
   */
  cgroupDir(controller: string, unit: string): Promise<string>;
  /** One file of `unit`'s cgroup (e.g. 'memory', 'memory.limit_in_bytes'), trimmed. */
  readCgroupFile(controller: string, unit: string, file: string): Promise<string>;
  /** Powers the guest off (SIGKILL by pid after timeoutMs, default 30 s) and removes what the harness made. Idempotent. */
  shutdown(opts?: { timeoutMs?: number }): Promise<ShutdownReport>;
}

export interface BootOptions {
  /** Units to mask in the guest on top of the defaults (gettys, timers, sysctl, …). */
  mask?: string[];
  /** Until `is-system-running --wait` answers; default 60 s. */
  bootTimeoutMs?: number;
  /** Accept a `degraded` boot (the failed units are in `boot.failedUnits`); default false: it throws. */
  allowDegraded?: boolean;
  /**
   * Host folders under /tmp the guest must see (its /tmp is its own, empty): each gets an overlay
   * of its own, so writes stay in the guest. Default: this checkout and $DOLPHIN_CACHE (a CI
   * clone in /tmp would otherwise be invisible to a command run in the guest).
   */
  keep?: string[];
}

/** Of `paths`, those under the host's /tmp that exist, outermost only. */
function keptUnderTmp(paths: readonly (string | undefined)[]): string[] {
  const tmp = `${os.tmpdir()}/`;
  const real = [...new Set(paths.filter((p): p is string => !!p && existsSync(p)).map((p) => realpathSync(p)))].filter((p) => p.startsWith(tmp));
  return real.filter((p) => !real.some((o) => o !== p && p.startsWith(`${o}/`)));
}

const SYSTEMD = '/lib/systemd/systemd';
const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NAME_PREFIX = 'dolphin-systemd-host-';
const SIGRTMIN_4 = 38; // glibc's SIGRTMIN (34) + 4: systemd's "start poweroff.target"
const TOOLS = ['unshare', 'nsenter', 'setpriv', 'pivot_root', 'mount', 'umount', 'mknod'] as const;

/**
 * Masked in every guest: what would touch the host or cannot work in a container (gettys on VTs,
 * sysctls, the clock, kernel modules, kernel filesystems), what is heavy and irrelevant (the
 * distro's postgresql, e2scrub), and, added at boot, every timer the distro ships.
 */
const DEFAULT_MASK = [
  'getty@.service', 'serial-getty@.service', 'console-getty.service', 'container-getty@.service', 'getty-static.service',
  'systemd-sysctl.service', 'systemd-timesyncd.service', 'systemd-networkd-wait-online.service',
  'modprobe@.service', 'systemd-modules-load.service',
  'sys-kernel-config.mount', 'sys-kernel-debug.mount', 'sys-kernel-tracing.mount', 'sys-fs-fuse-connections.mount',
  'systemd-pstore.service', 'e2scrub_reap.service', 'postgresql.service', 'postgresql@.service',
];

// Dropped from the guest's capability bounding set (as systemd-nspawn does): the host's kernel
// modules, clock, raw I/O, kernel log and accounting are not the guest's to touch.
const DROPPED_CAPS = ['sys_module', 'sys_time', 'sys_rawio', 'syslog', 'sys_pacct', 'wake_alarm', 'block_suspend', 'mac_admin', 'mac_override'];

// ---------------------------------------------------------------------------------------------
// The host's cgroup hierarchies

interface Hierarchy {
  /** Host mount point, e.g. /sys/fs/cgroup/memory. */
  mountpoint: string;
  version: 1 | 2;
  /** Super options to mount it with again (rw/ro dropped). */
  options: string[];
  /** v1 controllers or name=…; empty for cgroup2. */
  controllers: string[];
  /** The host directory of the test process's own cgroup in it: sub-cgroups go below. */
  parent: string;
}

interface CgroupLayout {
  hierarchies: Hierarchy[];
  /** Symlinks in /sys/fs/cgroup (e.g. cpu -> cpu,cpuacct), name → target. */
  links: Array<[string, string]>;
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

interface MountLine { root: string; mountpoint: string; fstype: string; source: string; superOptions: string[] }

function mountLines(file = '/proc/self/mountinfo'): MountLine[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [pre = '', post = ''] = line.split(' - ');
    const f = pre.split(' ');
    const [fstype = '', source = '', opts = ''] = post.split(' ');
    return { root: unescapeMount(f[3] ?? ''), mountpoint: unescapeMount(f[4] ?? ''), fstype, source: unescapeMount(source), superOptions: opts.split(',') };
  });
}

/** The hierarchies under /sys/fs/cgroup and where this process sits in each; a string says why not usable. */
function cgroupLayout(): CgroupLayout | string {
  const known = new Set(readFileSync('/proc/cgroups', 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t')[0]));
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean).map((l) => {
    const m = /^(\d+):([^:]*):(.*)$/.exec(l);
    return { controllers: m?.[2] ? m[2].split(',') : [], path: m?.[3] ?? '' };
  });
  const base = mountLines().find((m) => m.mountpoint === '/sys/fs/cgroup');
  if (!base) return '/sys/fs/cgroup is not mounted';
  if (base.fstype === 'cgroup2') return 'the host is cgroup v2 only (unified); this harness needs the hybrid v1 layout';
  const hierarchies: Hierarchy[] = [];
  for (const m of mountLines().filter((x) => path.dirname(x.mountpoint) === '/sys/fs/cgroup' && (x.fstype === 'cgroup' || x.fstype === 'cgroup2'))) {
    const options = m.superOptions.filter((o) => o !== 'rw' && o !== 'ro');
    const version = m.fstype === 'cgroup2' ? 2 : 1;
    const controllers = version === 2 ? [] : options.filter((o) => known.has(o) || o.startsWith('name='));
    const mine = own.find((c) => (version === 2 ? c.controllers.length === 0 : c.controllers.length > 0 && c.controllers.every((x) => controllers.includes(x))));
    if (!mine) return `no line of /proc/self/cgroup for ${m.mountpoint}`;
    const rootPrefix = m.root === '/' ? '' : m.root;
    if (!(mine.path === m.root || mine.path.startsWith(`${rootPrefix}/`))) return `this process's cgroup ${mine.path} is outside the mount ${m.mountpoint}`;
    hierarchies.push({ mountpoint: m.mountpoint, version, options, controllers, parent: path.join(m.mountpoint, mine.path.slice(rootPrefix.length)) });
  }
  if (!hierarchies.some((h) => h.version === 2) || !hierarchies.some((h) => h.controllers.includes('name=systemd'))) {
    return 'the cgroup layout is not systemd hybrid (no name=systemd or no unified cgroup2 mount under /sys/fs/cgroup)';
  }
  const links: Array<[string, string]> = readdirSync('/sys/fs/cgroup')
    .filter((n) => lstatSync(path.join('/sys/fs/cgroup', n)).isSymbolicLink())
    .map((n) => [n, readlinkSync(path.join('/sys/fs/cgroup', n))]);
  return { hierarchies, links };
}

/** Every pid in a cgroup directory and below. */
function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pids.push(...cgroupPids(path.join(dir, e.name)));
  return pids;
}

/** rmdir depth-first (a cgroup directory's files go with it); returns what could not be removed. */
function removeCgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const left: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) left.push(...removeCgroupTree(path.join(dir, e.name)));
  try {
    rmdirSync(dir);
  } catch (err) {
    left.push(`${dir} (${(err as NodeJS.ErrnoException).code})`);
  }
  return left;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** What a killed test left (its pid is gone): empty sub-cgroups and empty temp folders, removed. */
function sweepStale(layout: CgroupLayout): void {
  const stale = (n: string) => {
    const m = new RegExp(`^${NAME_PREFIX}(\\d+)-[0-9a-f]+(-\\w+)?$`).exec(n);
    return m !== null && !alive(Number(m[1]));
  };
  for (const h of layout.hierarchies) {
    for (const e of readdirSync(h.parent, { withFileTypes: true })) {
      const dir = path.join(h.parent, e.name);
      if (e.isDirectory() && stale(e.name) && cgroupPids(dir).length === 0) removeCgroupTree(dir);
    }
  }
  for (const e of readdirSync(os.tmpdir(), { withFileTypes: true })) {
    if (!e.isDirectory() || !stale(e.name)) continue;
    const dir = path.join(os.tmpdir(), e.name);
    // rmdir only: the mount points are empty on the host, and anything else is not ours to delete.
    for (const d of [path.join(dir, 'layers'), path.join(dir, 'merged'), dir]) try { rmdirSync(d); } catch { /* not empty or gone */ }
  }
}

// ---------------------------------------------------------------------------------------------
// Availability

function which(name: string): string | undefined {
  return [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean).map((d) => path.join(d, name)).find((p) => existsSync(p));
}

/** Why a systemd host cannot boot here, or null if it can. */
export async function systemdHostUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'namespaces and systemd are Linux only';
  if (process.getuid?.() !== 0) return 'it must run as root (it mounts an overlay of / and makes namespaces and cgroups)';
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} is not installed`;
  for (const tool of TOOLS) if (!which(tool)) return `${tool} is not installed (util-linux / mount)`;
  if (!/\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))) return 'the kernel has no overlay filesystem loaded';
  const layout = cgroupLayout();
  if (typeof layout === 'string') return layout;
  for (const h of layout.hierarchies) {
    const probe = path.join(h.parent, `${NAME_PREFIX}probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
    } catch (err) {
      return `cannot make a sub-cgroup in ${h.parent}: ${(err as Error).message}`;
    }
  }
  const ns = spawnSync('unshare', ['--pid', '--fork', '--mount', '--cgroup', '--net', '--uts', '--ipc', '--', 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (ns.status !== 0) return `unshare cannot make the namespaces here: ${(ns.stderr || ns.error?.message || '').trim()}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// The launcher

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs as the new namespaces' PID 1, still seeing the host's tree (made private first, so nothing
 * propagates back): builds the guest's / and pivots into it, then becomes systemd.
 */
function initScript(o: { dir: string; name: string; layout: CgroupLayout; mask: string[]; machineId: string; keep: string[] }): string {
  const L = `${o.dir}/layers`;
  const R = `${o.dir}/merged`;
  const cg = `${R}/sys/fs/cgroup`;
  const lines = [
    'umask 022',
    'mount --make-rprivate /',
    `L=${q(L)}; R=${q(R)}`,
    `mount -t tmpfs -o mode=755,size=4g ${q(o.name)} "$L"`,
    'mkdir "$L/upper" "$L/work"',
    `mount -t overlay -o "lowerdir=/,upperdir=$L/upper,workdir=$L/work" ${q(o.name)} "$R"`,
    // The guest's own /proc; /proc/sys read-only so that nothing inside changes the host's
    // sysctls (fs.file-max, fs.protected_*), but for the netns's own /proc/sys/net.
    'mount -t proc -o nosuid,nodev,noexec proc "$R/proc"',
    'ro_bind() { mount --bind "$1" "$1"; mount -o remount,bind,ro,nosuid,nodev,noexec "$1"; }',
    'for p in sys sysrq-trigger irq bus; do if [ -e "$R/proc/$p" ]; then ro_bind "$R/proc/$p"; fi; done',
    'mount --bind "$R/proc/sys/net" "$R/proc/sys/net"',
    'mount -o remount,bind,rw,nosuid,nodev,noexec "$R/proc/sys/net"',
    'mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"',
    // The same hierarchies as the host's; in the cgroup namespace their root is our sub-cgroup.
    `mount -t tmpfs -o mode=755,nosuid,nodev,noexec ${q(o.name)} ${q(cg)}`,
    ...o.layout.hierarchies.map((h) => {
      const dir = q(`${cg}/${path.basename(h.mountpoint)}`);
      return `mkdir ${dir}; mount -t ${h.version === 2 ? 'cgroup2' : 'cgroup'} -o ${q([...h.options, 'nosuid', 'nodev', 'noexec'].join(','))} cgroup ${dir}`;
    }),
    ...o.layout.links.map(([n, t]) => `ln -s ${q(t)} ${q(`${cg}/${n}`)}`),
    `mount -o remount,ro,nosuid,nodev,noexec ${q(cg)}`,
    // A private /dev of fresh nodes (a bind of the host's would let journald, logind and gettys
    // make nodes and change modes on the host); /dev/console is a private null.
    `mount -t tmpfs -o mode=755,nosuid,size=4m ${q(o.name)} "$R/dev"`,
    'cd "$R/dev"',
    'mknod -m 666 null c 1 3; mknod -m 666 zero c 1 5; mknod -m 666 full c 1 7',
    'mknod -m 666 random c 1 8; mknod -m 666 urandom c 1 9; mknod -m 666 tty c 5 0; mknod -m 600 console c 1 3',
    'mkdir pts shm; mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts pts; ln -s pts/ptmx ptmx',
    `mount -t tmpfs -o mode=1777,nosuid,nodev ${q(o.name)} shm`,
    'ln -s /proc/self/fd fd; ln -s /proc/self/fd/0 stdin; ln -s /proc/self/fd/1 stdout; ln -s /proc/self/fd/2 stderr',
    'cd /',
    `mount -t tmpfs -o mode=755,nosuid,nodev ${q(o.name)} "$R/run"`,
    // An empty /tmp: the host's (gigabytes of test folders) would cost systemd-tmpfiles' boot-time
    // cleanup of /tmp (D /tmp) seconds of whiteouts in the overlay.
    `mount -t tmpfs -o mode=1777,nosuid,nodev ${q(o.name)} "$R/tmp"`,
    ...o.keep.flatMap((p, i) => [
      `mkdir -p "$L/keep/${i}/upper" "$L/keep/${i}/work" ${q(`${R}${p}`)}`,
      `mount -t overlay -o ${q(`lowerdir=${p},upperdir=${L}/keep/${i}/upper,workdir=${L}/keep/${i}/work`)} ${q(o.name)} ${q(`${R}${p}`)}`,
    ]),
    // The guest's own identity and a journal in memory, written to the overlay's upper layer.
    `echo ${q(o.name)} > "$R/etc/hostname"`,
    `echo ${o.machineId} > "$R/etc/machine-id"`,
    'mkdir -p "$R/etc/systemd/system" "$R/etc/systemd/journald.conf.d"',
    `printf '[Journal]\\nStorage=volatile\\nRuntimeMaxUse=32M\\n' > "$R/etc/systemd/journald.conf.d/${NAME_PREFIX}volatile.conf"`,
    ...o.mask.map((u) => `ln -sfn /dev/null ${q(`${R}/etc/systemd/system/${u}`)}`),
    'mkdir "$R/.dolphin-oldroot"',
    'cd "$R"',
    'pivot_root . .dolphin-oldroot',
    'cd /',
    'umount -l /.dolphin-oldroot',
    'rmdir /.dolphin-oldroot',
    // Shared within the guest, as on a booted machine: systemd in a container leaves / as it finds
    // it, and LoadCredential= (a ramfs moved into /run/credentials from the unit's set-up
    // namespace) and PrivateTmp= rely on mounts propagating back. The copy was made private
    // first, so nothing propagates to the host.
    'mount --make-rshared /',
    `exec setpriv --bounding-set=${DROPPED_CAPS.map((c) => `-${c}`).join(',')} -- env -i container=dolphin-test ${SYSTEMD} --system`,
  ];
  return lines.join('\n');
}

// Moves itself into the sub-cgroups, then unshares: the cgroup namespace is rooted where it stands.
const LAUNCH_SCRIPT = [
  'for f do echo $$ > "$f"; done',
  // The init script travels in the environment (dropped by env -i before systemd), not in argv.
  'exec unshare --pid --fork --kill-child=SIGKILL --mount --propagation private --cgroup --net --uts --ipc -- /bin/sh -euc \'eval "$DSH_INIT"\' dolphin-systemd-host-init',
].join('\n');

/** Host processes with their parent and process group, from /proc/<pid>/stat. */
function processTable(): Array<{ pid: number; ppid: number; pgrp: number }> {
  const rows = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      rows.push({ pid: Number(e), ppid: Number(f[1]), pgrp: Number(f[2]) });
    } catch { /* gone */ }
  }
  return rows;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `p`, or undefined after `ms`; the timer is cleared either way (a pending one would hold the process). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), ms); })]).finally(() => clearTimeout(timer));
}

function runIn(pid: number, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills the command inside too (nsenter forks it into the pid namespace).
    const child = spawn('nsenter', ['-t', String(pid), '-a', '--', ...argv], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: GUEST_PATH, HOME: '/root', LANG: 'C.UTF-8', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.stdin.on('error', () => { /* the command did not read its input */ });
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      // The command and its group, but not nsenter itself: nsenter must outlive its child to reap
      // it. Orphaned, the child would go to the host's init (nsenter's pid namespace), and
      // systemd-shutdown would wait 10 s for that zombie it cannot reap. nsenter then dies of the same signal.
      const group = processTable().filter((p) => p.pgrp === child.pid && p.pid !== child.pid);
      for (const p of group) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
      setTimeout(() => { if (child.exitCode === null && child.signalCode === null) try { process.kill(child.pid as number, 'SIGKILL'); } catch { /* gone */ } }, 2_000).unref();
    }, opts.timeoutMs ?? 30_000);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
  });
}

// ---------------------------------------------------------------------------------------------
// Boot and shutdown

/**
 * Boots systemd in fresh namespaces and resolves once `systemctl is-system-running --wait` says
 * `running`. On any failure it shuts down what it started and throws with systemd's own account
 * (failed units, the journal's tail, the launcher's output).
 */
export async function bootSystemdHost(opts: BootOptions = {}): Promise<SystemdHost> {
  const why = await systemdHostUnavailable();
  if (why) throw new Error(`systemd host cannot run here: ${why}`);
  const layout = cgroupLayout();
  if (typeof layout === 'string') throw new Error(layout);
  sweepStale(layout);

  const started = Date.now();
  const name = `${NAME_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  mkdirSync(path.join(dir, 'layers'));
  mkdirSync(path.join(dir, 'merged'));
  const cgroups: string[] = [];
  const timers = readdirSync('/lib/systemd/system').filter((f) => f.endsWith('.timer'));
  const mask = [...new Set([...DEFAULT_MASK, ...timers, ...(opts.mask ?? [])])];

  let launcher: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  const launcherTail: string[] = [];
  let pid = 0;
  let shutdownPromise: Promise<ShutdownReport> | undefined;

  const cleanup = async (timeoutMs: number): Promise<ShutdownReport> => {
    const t0 = Date.now();
    const launcherGone = () => !launcher || launcher.exitCode !== null || launcher.signalCode !== null;
    let how: ShutdownReport['how'] = 'gone';
    if (!launcherGone()) {
      how = 'poweroff';
      // SIGRTMIN+4 asks systemd for poweroff.target, as `systemctl poweroff` would, but leaves no
      // process of ours in the guest: systemd-shutdown waits 10 s for a process it signalled whose
      // parent (nsenter) is outside the namespace, as a systemctl run by nsenter would be.
      if (pid) try { process.kill(pid, SIGRTMIN_4); } catch { /* gone */ }
      const stopped = await within(exited, pid ? timeoutMs : 0);
      if (!stopped) {
        how = 'killed';
        // PID 1 by pid (its death ends the pid namespace), then the launcher should it linger.
        for (const p of [pid, launcher?.pid]) if (p) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
        await within(exited, 10_000);
      }
    }
    const exit = (await within(exited, 0)) ?? { code: null, signal: null };
    const leftovers: string[] = [];
    if (pid && existsSync(`/proc/${pid}`)) leftovers.push(`PID 1 (${pid}) is still running`);
    // The pid namespace's processes are reaped before PID 1's exit is reported, but a dying task
    // can linger in cgroup.procs a moment: wait for it before rmdir.
    const deadline = Date.now() + 10_000;
    while (cgroups.some((d) => cgroupPids(d).length > 0) && Date.now() < deadline) await sleep(20);
    for (const d of cgroups) {
      const pids = cgroupPids(d);
      if (pids.length) leftovers.push(`${d}: processes ${pids.join(' ')}`);
      leftovers.push(...removeCgroupTree(d));
    }
    for (const m of mountLines()) if (m.source === name || m.mountpoint.startsWith(dir)) leftovers.push(`mount ${m.mountpoint} (${m.fstype} ${m.source}) on the host`);
    for (const d of [path.join(dir, 'layers'), path.join(dir, 'merged'), dir]) {
      // rmdir, not rm -r: a mount there (there should be none) must not be descended into.
      try { rmdirSync(d); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') leftovers.push(`${d} (${(err as NodeJS.ErrnoException).code})`); }
    }
    return { how, ms: Date.now() - t0, exit, leftovers };
  };
  const shutdown = (o: { timeoutMs?: number } = {}) => (shutdownPromise ??= cleanup(o.timeoutMs ?? 30_000));

  const failBoot = async (what: string, detail: string[] = []): Promise<never> => {
    const report = await shutdown({ timeoutMs: 10_000 });
    throw new Error([`systemd host ${name}: ${what}`, ...detail,
      `launcher's output (last lines):\n${launcherTail.join('\n')}`,
      `shutdown: ${report.how} in ${report.ms} ms${report.leftovers.length ? `, left: ${report.leftovers.join('; ')}` : ''}`].join('\n'));
  };

  try {
    for (const h of layout.hierarchies) {
      const d = path.join(h.parent, name);
      mkdirSync(d);
      cgroups.push(d);
      // A v1 cpuset cgroup starts with no cpus or mems, and no task may join it until it has some.
      if (h.controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(path.join(d, f), readFileSync(path.join(h.parent, f), 'utf8'));
      }
    }
    const kept = keptUnderTmp(opts.keep ?? [path.resolve(import.meta.dirname, '../..'), process.env.DOLPHIN_CACHE]);
    const init = initScript({ dir, name, layout, mask, machineId: randomBytes(16).toString('hex'), keep: kept });
    // setpriv's parent-death signal: if the test process dies, the launcher dies, and
    // unshare --kill-child takes PID 1 (and so the whole pid namespace) with it.
    const l = spawn('setpriv', ['--pdeathsig', 'KILL', '--', '/bin/sh', '-euc', LAUNCH_SCRIPT, 'dolphin-systemd-host-launch', ...cgroups.map((d) => path.join(d, 'cgroup.procs'))], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: GUEST_PATH, DSH_INIT: init },
    });
    launcher = l;
    exited = new Promise((resolve) => l.once('exit', (code, signal) => resolve({ code, signal })));
    l.once('error', (err) => launcherTail.push(`launcher: ${err.message}`));
    const keep = (b: Buffer) => {
      launcherTail.push(...b.toString('utf8').split('\n').filter(Boolean));
      launcherTail.splice(0, Math.max(0, launcherTail.length - 60));
    };
    l.stdout.on('data', keep);
    l.stderr.on('data', keep);

    // PID 1 is unshare's child; it is ours once it has become systemd (pivoted into the overlay).
    const bootTimeoutMs = opts.bootTimeoutMs ?? 60_000;
    const deadline = Date.now() + bootTimeoutMs;
    for (;;) {
      if (l.exitCode !== null || l.signalCode !== null) return await failBoot(`the launcher exited (${l.exitCode ?? l.signalCode}) before systemd ran`);
      if (Date.now() > deadline) return await failBoot('systemd did not start in time');
      const c = processTable().find((p) => p.ppid === l.pid)?.pid;
      let comm = '';
      try { comm = c ? readFileSync(`/proc/${c}/comm`, 'utf8').trim() : ''; } catch { /* between exec's */ }
      if (c && comm === 'systemd' && existsSync(`/proc/${c}/root/run/systemd/private`)) {
        pid = c;
        break;
      }
      await sleep(20);
    }
    const state = await runIn(pid, ['systemctl', 'is-system-running', '--wait'], { timeoutMs: Math.max(1_000, deadline - Date.now()) });
    const current = state.stdout.trim() || `no answer (${state.stderr.trim()})`;
    const failed = await runIn(pid, ['systemctl', 'list-units', '--failed', '--plain', '--no-legend'], { timeoutMs: 10_000 });
    const failedUnits = failed.stdout.split('\n').map((s) => s.trim().split(/\s+/)[0] ?? '').filter(Boolean);
    if (current !== 'running' && !(current === 'degraded' && opts.allowDegraded)) {
      const journal = await runIn(pid, ['journalctl', '-b', '--no-pager', '-n', '80', '-o', 'short-monotonic'], { timeoutMs: 10_000 });
      const jobs = await runIn(pid, ['systemctl', 'list-jobs', '--no-pager'], { timeoutMs: 10_000 });
      const status = failedUnits.length ? await runIn(pid, ['systemctl', 'status', '--no-pager', '-n', '20', ...failedUnits], { timeoutMs: 10_000 }) : undefined;
      return await failBoot(`is-system-running says ${current}${state.timedOut ? ` after ${bootTimeoutMs} ms` : ''}`,
        [`failed units: ${failedUnits.join(', ') || 'none'}`, ...(status ? [status.stdout.trim()] : []), `jobs:\n${jobs.stdout.trim()}`, `journal (last lines):\n${journal.stdout.trim()}`]);
    }
    const guestPid = pid;
    const boot = { state: current, ms: Date.now() - started, failedUnits };
    const controllerDir = (controller: string) => {
      const want = controller === 'unified' ? [] : controller.split(',').map((c) => (c === 'systemd' ? 'name=systemd' : c));
      const h = layout.hierarchies.find((x) => (want.length === 0 ? x.version === 2 : want.every((c) => x.controllers.includes(c))));
      if (!h) throw new Error(`no cgroup hierarchy holds ${controller} (have ${layout.hierarchies.map((x) => x.controllers.join(',') || 'unified').join(' ')})`);
      return path.join(h.parent, name);
    };
    const host: SystemdHost = {
      name, pid: guestPid, root: `/proc/${guestPid}/root`, cgroups, boot,
      run(argv, o) {
        if (shutdownPromise) return Promise.reject(new Error(`systemd host ${name} is shut down`));
        return runIn(guestPid, argv, o);
      },
      systemctl: (...args) => host.run(['systemctl', ...args]),
      async cgroupDir(controller, unit) {
        const base = controllerDir(controller);
        const r = await host.run(['systemctl', 'show', '--property=ControlGroup', '--value', unit]);
        const cgroup = r.stdout.trim();
        if (r.code !== 0 || !cgroup.startsWith('/')) throw new Error(`${unit} has no cgroup in ${name} (is it running?): ${r.stderr.trim() || cgroup}`);
        return path.join(base, cgroup);
      },
      async readCgroupFile(controller, unit, file) {
        return readFileSync(path.join(await host.cgroupDir(controller, unit), file), 'utf8').trim();
      },
      shutdown,
    };
    return host;
  } catch (err) {
    if (!shutdownPromise) await shutdown({ timeoutMs: 10_000 });
    throw err;
  }
}
