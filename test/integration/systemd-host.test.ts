import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootSystemdHost, systemdHostUnavailable, waitFor, type ShutdownReport, type SystemdHost } from '@dolphin/test-support';

/**
 * The systemd host harness against the machine's real systemd: it boots to `running`, is isolated
 * from the host (pid, uts, net, sysctls, /dev), enforces a unit's limits in the v1 cgroups the
 * harness reads, and leaves no process, mount, cgroup or folder behind when it is shut down.
 */
const NAMESPACES = ['pid', 'mnt', 'net', 'uts', 'ipc', 'cgroup'];
const SYSCTLS = ['fs/file-max', 'fs/nr_open', 'fs/protected_fifos', 'fs/protected_hardlinks', 'fs/protected_regular', 'fs/protected_symlinks', 'kernel/core_pattern', 'kernel/hostname'];

const sysctls = () => Object.fromEntries(SYSCTLS.map((k) => [k, readFileSync(`/proc/sys/${k}`, 'utf8').trim()]));
const hostMounts = () => spawnSync('findmnt', ['-rn', '-o', 'TARGET,SOURCE,FSTYPE'], { encoding: 'utf8' }).stdout;
/** Host pids whose pid namespace is `ns` (a /proc/<pid>/ns/pid link text). */
const processesIn = (ns: string) => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((p) => {
  try { return readlinkSync(`/proc/${p}/ns/pid`) === ns; } catch { return false; }
});

// A test process that boots a host, starts a unit, says where it is, and is then killed.
const KILLED_TEST = `
import { bootSystemdHost } from ${JSON.stringify(path.join(import.meta.dirname, '../support/systemd-host.ts'))};
const host = await bootSystemdHost();
await host.run(['systemd-run', '--unit=probe', 'sleep', '300']);
console.log(JSON.stringify({ name: host.name, pid: host.pid, cgroups: host.cgroups, pidNs: (await import('node:fs')).readlinkSync('/proc/' + host.pid + '/ns/pid') }));
setInterval(() => {}, 60_000);
`;

const why = await systemdHostUnavailable();
if (why) {
  describe('systemd host (the machine\'s systemd as PID 1 of its own namespaces)', () => {
    it('cannot run here', () => {
      console.warn(`test/integration/systemd-host.test.ts does not run here: ${why}`);
    });
  });
} else {
  describe('systemd host (the machine\'s systemd as PID 1 of its own namespaces)', () => {
    const before = { sysctls: sysctls(), dev: readdirSync('/dev').sort(), hostname: os.hostname() };
    let host: SystemdHost;
    let shutdown: ShutdownReport | undefined;

    beforeAll(async () => {
      host = await bootSystemdHost();
      console.log(`systemd host ${host.name}: ${host.boot.state} after ${host.boot.ms} ms`);
    });

    afterAll(async () => {
      // Whatever the tests did: shut down (idempotent; the last test has done it when all went well).
      await host?.shutdown();
    });

    it('boots to running with no failed unit', async () => {
      expect(host.boot.state).toBe('running');
      const state = await host.systemctl('is-system-running');
      expect(state.stdout.trim()).toBe('running');
      const failed = await host.systemctl('list-units', '--failed', '--plain', '--no-legend');
      expect(failed.code).toBe(0);
      expect(failed.stdout.trim()).toBe('');
    });

    it('runs commands in the guest: exit codes, input, environment, a timeout that kills the command', async () => {
      expect((await host.run(['false'])).code).toBe(1);
      const echo = await host.run(['sh', '-c', 'read line; echo "$line $GREETING"'], { input: 'hello\n', env: { GREETING: 'guest' } });
      expect(echo).toMatchObject({ code: 0, stdout: 'hello guest\n', timedOut: false });
      const slow = await host.run(['sh', '-c', 'echo $$; exec sleep 60'], { timeoutMs: 500 });
      expect(slow.timedOut).toBe(true);
      expect(slow.signal).toBe('SIGKILL');
      // The sleep ran inside the pid namespace (a small pid) and is gone with its process group.
      const inner = Number(slow.stdout.trim());
      expect(inner).toBeGreaterThan(1);
      expect((await host.run(['test', '-e', `/proc/${inner}`])).code).toBe(1);
    });

    it('is isolated: PID 1 is systemd in its own namespaces, its own hostname, only lo', async () => {
      expect(readFileSync(`/proc/${host.pid}/comm`, 'utf8').trim()).toBe('systemd');
      expect((await host.run(['cat', '/proc/1/comm'])).stdout.trim()).toBe('systemd');
      for (const ns of NAMESPACES) expect(readlinkSync(`/proc/${host.pid}/ns/${ns}`), ns).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
      expect((await host.run(['hostname'])).stdout.trim()).toBe(host.name);
      expect(os.hostname()).toBe(before.hostname);
      expect((await host.run(['ls', '/sys/class/net'])).stdout.trim().split(/\s+/)).toEqual(['lo']);
      // The guest sees the machine's files through the overlay; its writes stay in the guest.
      expect(existsSync(`${host.root}/lib/systemd/systemd`)).toBe(true);
      expect((await host.run(['sh', '-c', 'echo guest > /etc/dolphin-systemd-host-probe'])).code).toBe(0);
      expect(readFileSync(`${host.root}/etc/dolphin-systemd-host-probe`, 'utf8')).toBe('guest\n');
      expect(existsSync('/etc/dolphin-systemd-host-probe')).toBe(false);
    });

    it('a unit\'s MemoryMax, TasksMax and CPUQuota reach its v1 cgroups, read from the host', async () => {
      const started = await host.run(['systemd-run', '--unit=probe', '--property=MemoryMax=64M', '--property=TasksMax=42', '--property=CPUQuota=50%', 'sleep', '300']);
      expect(started.code, started.stderr).toBe(0);
      expect(await host.readCgroupFile('memory', 'probe.service', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
      expect(await host.readCgroupFile('pids', 'probe.service', 'pids.max')).toBe('42');
      expect(await host.readCgroupFile('cpu', 'probe.service', 'cpu.cfs_quota_us')).toBe('50000');
      // The directory is the unit's: its one process, by host pid, is the sleep.
      const procs = (await host.readCgroupFile('memory', 'probe.service', 'cgroup.procs')).split('\n');
      expect(procs.map((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim())).toEqual(['sleep']);
      await expect(host.cgroupDir('memory', 'no-such.service')).rejects.toThrow(/no-such\.service has no cgroup/);
    });

    it('leaves the host\'s sysctls and /dev as they were', () => {
      expect(sysctls()).toEqual(before.sysctls);
      expect(readdirSync('/dev').sort()).toEqual(before.dev);
    });

    it('shuts down by poweroff and leaves no process, mount, cgroup or folder; a second shutdown is the same', async () => {
      const pidNs = readlinkSync(`/proc/${host.pid}/ns/pid`);
      expect(processesIn(pidNs).length).toBeGreaterThan(3); // systemd, journald, the probe's sleep …
      const dirs = [...host.cgroups];
      expect(dirs.every((d) => existsSync(d))).toBe(true);

      shutdown = await host.shutdown();
      console.log(`systemd host ${host.name}: shut down (${shutdown.how}) in ${shutdown.ms} ms`);
      expect(shutdown.how).toBe('poweroff');
      expect(shutdown.leftovers).toEqual([]);
      expect(existsSync(`/proc/${host.pid}`)).toBe(false);
      expect(processesIn(pidNs)).toEqual([]);
      expect(dirs.filter((d) => existsSync(d))).toEqual([]);
      expect(hostMounts()).not.toContain(host.name);
      expect(readdirSync(os.tmpdir()).filter((e) => e.startsWith(host.name))).toEqual([]);
      expect(sysctls()).toEqual(before.sysctls);
      expect(readdirSync('/dev').sort()).toEqual(before.dev);

      expect(await host.shutdown()).toBe(shutdown);
      await expect(host.run(['true'])).rejects.toThrow(/shut down/);
    });
  });

  describe('systemd host of a test process that is killed', () => {
    it('dies with it, leaving only empty sub-cgroups, which the next boot removes', async () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', KILLED_TEST], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
      const exited = new Promise((r) => child.once('exit', r));
      const left = await waitFor(() => (out.includes('\n') ? JSON.parse(out) as { name: string; pid: number; cgroups: string[]; pidNs: string } : undefined), 'the test process to boot its host', 60_000, 50);
      expect(processesIn(left.pidNs).length).toBeGreaterThan(1);
      child.kill('SIGKILL');
      await exited;

      // The parent-death signals take PID 1 and so the whole pid namespace; the mounts were the namespace's.
      await waitFor(() => processesIn(left.pidNs).length === 0, 'the killed test\'s guest to die', 10_000, 50);
      expect(existsSync(`/proc/${left.pid}`)).toBe(false);
      expect(hostMounts()).not.toContain(left.name);
      expect(left.cgroups.filter((d) => existsSync(d))).toEqual(left.cgroups);
      expect(left.cgroups.flatMap((d) => readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))).toEqual([]);

      const next = await bootSystemdHost();
      try {
        expect(left.cgroups.filter((d) => existsSync(d))).toEqual([]);
        expect(readdirSync(os.tmpdir()).filter((e) => e.startsWith(left.name))).toEqual([]);
      } finally {
        expect((await next.shutdown()).leftovers).toEqual([]);
      }
    });
  });
}
