import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@dolphin/core';
import { bootSystemdHost, systemdHostUnavailable, type SystemdHost } from '../support/systemd-host.ts';
import { dolphinIn, guestEnv, installedDolphin, installedUnits, installWithScanFeed, processesOf, signalToReady, unitState, unitStates, until } from '../support/dolphin-on-systemd.ts';

// Dolphin installed with `dolphin install` into the machine's own systemd, booted as PID 1 of
// new namespaces on an overlay of / (test/support/systemd-host.ts): the production form, run for
// real. Bad input first (nothing may be left half-installed), then the install, what systemd
// does with the units (limits, restarts, watchdog, the daily timer), a stop, and uninstall.

const why = await systemdHostUnavailable();
const PREFIX = '/opt/dolphin';

/** The guest's files, from the host. */
const guestPath = (host: SystemdHost, p: string) => path.join(host.root, p);

/** Nothing of an install is on the guest: no prefix, config, state, units, user. */
async function nothingInstalled(host: SystemdHost): Promise<string[]> {
  const left: string[] = [];
  for (const p of [PREFIX, '/etc/dolphin', '/var/lib/dolphin', '/etc/systemd/system/dolphin.target', '/etc/systemd/system/dolphin-member.service', '/usr/local/bin/dolphin', '/etc/polkit-1/rules.d/50-dolphin-recovery.rules']) {
    if (existsSync(guestPath(host, p))) left.push(p);
  }
  if (readFileSync(guestPath(host, '/etc/passwd'), 'utf8').split('\n').some((l) => l.startsWith('dolphin:'))) left.push('user dolphin');
  return left;
}

if (why) {
  describe('dolphin install under a real systemd', () => {
    it('cannot run here', () => {
      console.warn(`test/integration/systemd-install.test.ts does not run here: ${why}`);
    });
  });
} else {
  describe('dolphin install under a real systemd', () => {
    let host: SystemdHost;

    beforeAll(async () => {
      host = await bootSystemdHost();
      console.info(`systemd host ${host.name}: booted to ${host.boot.state} in ${host.boot.ms} ms`);
    }, 120_000);

    afterAll(async () => {
      if (!host) return;
      const report = await host.shutdown();
      console.info(`systemd host ${host.name}: ${report.how} in ${report.ms} ms; leftovers: ${report.leftovers.join(', ') || 'none'}`);
      expect(report.leftovers).toEqual([]);
    }, 120_000);

    it('refuses bad input with a clear message and changes nothing', async () => {
      // Not root (the command itself, past the bootstrap, which would want a cache of its own).
      const asNobody = await host.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, path.join(REPO_ROOT, 'cli/src/main.ts'), 'install'], { timeoutMs: 120_000 });
      expect(asNobody.code).not.toBe(0);
      expect(asNobody.stderr).toMatch(/needs root: run sudo \.\/dolphin install/);

      // The prefix holds another checkout.
      await host.run(['mkdir', '-p', `${PREFIX}/.git`]);
      const prefix = await dolphinIn(host, ['install']);
      expect(prefix.code).toBe(1);
      expect(prefix.stderr).toMatch(/\/opt\/dolphin already holds a git checkout that dolphin install did not put there/);
      await host.run(['rm', '-rf', PREFIX]);

      // The user exists and is not Dolphin's.
      await host.run(['useradd', '--system', 'dolphin']);
      const user = await dolphinIn(host, ['install']);
      expect(user.code).toBe(1);
      expect(user.stderr).toMatch(/user dolphin already exists \(uid \d+.*not created by dolphin install/);
      await host.run(['userdel', 'dolphin']);

      // A port of the registry is taken (the dashboard's, by a listener of someone else).
      const squat = await host.run(['systemd-run', '--unit=squatter', 'python3', '-c', 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", 9430)); s.listen(); time.sleep(600)']);
      expect(squat.code, squat.stderr).toBe(0);
      await until(async () => ((await host.run(['ss', '-ltn', 'sport = :9430'])).stdout.includes('9430') ? true : undefined), 'the squatter listening', 10_000);
      const port = await dolphinIn(host, ['install']);
      expect(port.code).toBe(1);
      expect(port.stderr).toMatch(/port 9430 on 127\.0\.0\.1, which dashboard \(dashboard\.port\) listens on, is taken by another program/);
      await host.systemctl('stop', 'squatter');

      // No systemd running: /run/systemd hidden from the command (sd_booted(3) is that folder).
      const noSystemd = await host.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none /run/systemd && exec ${path.join(REPO_ROOT, 'dolphin')} install`], { env: guestEnv(), timeoutMs: 120_000 });
      expect(noSystemd.code).toBe(1);
      expect(noSystemd.stderr).toMatch(/this machine does not run systemd \(PID 1 is systemd, no \/run\/systemd\/system\): there is nothing to install units into; run Dolphin with \.\/dolphin up/);

      // --dry-run says what it would do and does none of it.
      const dry = await dolphinIn(host, ['install', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/create the system user dolphin/);
      expect(dry.stdout).toMatch(/units into \/etc\/systemd\/system: dolphin-member\.service, /);

      expect(await nothingInstalled(host)).toEqual([]);
    });

    it('a failed install rolls back everything it did', async () => {
      // Units cannot be active a millisecond after they start: the install fails after every step was done.
      const r = await dolphinIn(host, ['install', '--wait', '0.001']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/not every unit became active within/);
      expect(r.stderr).toMatch(/rolled back; the machine is as it was/);
      expect(await nothingInstalled(host)).toEqual([]);
      const units = await host.systemctl('list-units', '--all', '--no-legend', '--plain', 'dolphin*');
      expect(units.stdout.trim()).toBe('');
      const ps = await host.run(['ps', '-eo', 'comm=']);
      expect(ps.stdout.split('\n').filter((c) => c === 'node' || c === 'java')).toEqual([]);
    }, 240_000);

    it('installs: every unit active, health GREEN, the limits in the cgroup files', async () => {
      const r = await installWithScanFeed(host);
      console.info(r.stdout);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/units active .*health GREEN/);
      const { services, timers } = await installedUnits(host);
      expect(services).toEqual(expect.arrayContaining(['dolphin-member.service', 'dolphin-scan-bridge.service', 'dolphin-event-trader.service', 'dolphin-meta-health.service']));
      for (const s of await unitStates(host, [...services, ...timers])) expect(`${s.id} ${s.active}`).toBe(`${s.id} active`);

      // The registry's limits, as the kernel enforces them (cgroup v1 files).
      expect(await host.readCgroupFile('memory', 'dolphin-scan-bridge.service', 'memory.limit_in_bytes')).toBe(String(256 * 1024 * 1024));
      expect(await host.readCgroupFile('pids', 'dolphin-scan-bridge.service', 'pids.max')).toBe('64');
      expect(await host.readCgroupFile('cpu', 'dolphin-scan-bridge.service', 'cpu.cfs_quota_us')).toBe('100000');
      expect(await host.readCgroupFile('cpu', 'dolphin-safety.service', 'cpu.cfs_quota_us')).toBe('50000');
      expect(await host.readCgroupFile('memory', 'dolphin-member.service', 'memory.limit_in_bytes')).toBe(String(1600 * 1024 * 1024));
      expect(await host.readCgroupFile('pids', 'dolphin-member.service', 'pids.max')).toBe('256');

      // Nothing under the prefix is writable by the services' user.
      const writable = await host.run(['find', PREFIX, '-writable', '-not', '-type', 'l', '-print', '-quit'].flatMap((a, i) => (i === 0 ? ['setpriv', '--reuid=dolphin', '--regid=dolphin', '--init-groups', a] : [a])));
      expect(writable.stdout.trim()).toBe('');

      // The installed command reads systemd, and the journal.
      const status = await installedDolphin(host, ['status']);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^dolphin-scan-bridge\s+active \(running\)\s+\d+/m);
      const logs = await installedDolphin(host, ['logs', 'scan-bridge', '-n', '5']);
      expect(logs.stdout).toMatch(/"service":"scan-bridge"/);
    }, 300_000);

    it('a re-run changes nothing', async () => {
      const { services } = await installedUnits(host);
      const before = await unitStates(host, services);
      const r = await dolphinIn(host, ['install']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/nothing to change/);
      const after = await unitStates(host, services);
      expect(after.map((s) => `${s.id} ${s.pid} ${s.restarts}`)).toEqual(before.map((s) => `${s.id} ${s.pid} ${s.restarts}`));
    }, 300_000);

    it('systemd restarts a killed bridge, and the watchdog a frozen service', async () => {
      const kill = await signalToReady(host, 'dolphin-scan-bridge.service', 'KILL');
      console.info(`systemd: SIGKILL of the scan bridge → active again (READY=1) in ${kill.ms.toFixed(0)} ms (pid ${kill.oldPid} → ${kill.newPid})`);
      expect(kill.newPid).not.toBe(kill.oldPid);

      // SIGSTOP: the process lives but its event loop does not run, so the heartbeat's tick stops petting.
      const frozen = await signalToReady(host, 'dolphin-indicators.service', 'STOP', 60_000);
      console.info(`systemd: SIGSTOP of indicators → watchdog kill and active again in ${frozen.ms.toFixed(0)} ms`);
      const journal = await host.run(['journalctl', '-u', 'dolphin-indicators.service', '--no-pager', '-o', 'cat']);
      // The watchdog, not something else, ended it (WatchdogSec=10 after the last pet, which came up to 5 s before the stop).
      expect(journal.stdout).toMatch(/dolphin-indicators\.service: Watchdog timeout \(limit 10s\)!/);
    }, 120_000);

    it('the daily timer fires on its calendar and its job completes', async () => {
      // A calendar 40 s ahead, no random delay: edit the configuration, re-run install to apply it.
      const at = new Date(Date.now() + 40_000);
      const hhmmss = at.toISOString().slice(11, 19);
      const file = guestPath(host, '/etc/dolphin/dolphin.prod.json');
      const cfg = JSON.parse(readFileSync(file, 'utf8')) as { services: Record<string, unknown> };
      cfg.services.daily = { schedule: { calendar: `*-*-* ${hhmmss} UTC`, randomizedDelaySec: 0 } };
      writeFileSync(file, JSON.stringify(cfg, null, 2));
      const r = await dolphinIn(host, ['install']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/updated \/etc\/systemd\/system\/dolphin-daily\.timer/);
      const timers = await host.systemctl('list-timers', '--all', '--no-pager', 'dolphin-daily.timer');
      console.info(timers.stdout);
      const done = await until(async () => {
        const s = await unitState(host, 'dolphin-daily.service');
        const ran = await host.systemctl('show', '--property=ExecMainExitTimestampMonotonic,ExecMainStatus', 'dolphin-daily.service');
        return s.active === 'inactive' && /ExecMainExitTimestampMonotonic=[1-9]/.test(ran.stdout) ? { s, ran: ran.stdout } : undefined;
      }, 'dolphin-daily.service to run and finish', 180_000, 500);
      const journal = await host.run(['journalctl', '-u', 'dolphin-daily.service', '--no-pager', '-o', 'cat']);
      console.info(journal.stdout.split('\n').slice(-15).join('\n'));
      expect(done.s.result, journal.stdout).toBe('success');
      expect(done.ran).toMatch(/ExecMainStatus=0/);
      const jobs = await installedDolphin(host, ['jobs']);
      expect(jobs.code, jobs.stdout + jobs.stderr).toBe(0);
      expect(jobs.stdout).toMatch(/completed/);
      expect(jobs.stdout).toMatch(/report/i);
    }, 300_000);

    it('systemctl stop dolphin.target: no unit failed, no process left; uninstall removes everything', async () => {
      await host.systemctl('stop', 'scan-feed');
      expect((await unitState(host, 'dolphin.target')).active).toBe('active');
      const stop = await host.systemctl('stop', 'dolphin.target');
      expect(stop.code, stop.stderr).toBe(0);
      // The target's own stop job ends first (it is ordered after its units); the units' stop jobs follow.
      const { services, timers } = await installedUnits(host);
      await until(async () => ((await unitStates(host, [...services, ...timers])).every((u) => u.active === 'inactive' || u.active === 'failed') ? true : undefined), 'every unit stopped', 60_000, 200);
      const failed = await host.systemctl('list-units', '--failed', '--no-legend', '--plain', 'dolphin*');
      expect(failed.stdout.trim()).toBe('');
      expect(await processesOf(host, 'dolphin')).toEqual([]);

      const u = await installedDolphin(host, ['uninstall']);
      expect(u.code, u.stdout + u.stderr).toBe(0);
      expect(await nothingInstalled(host)).toEqual([]);
    }, 180_000);
  });
}
