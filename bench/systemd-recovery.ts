/**
 * systemd-recovery: Dolphin installed by `dolphin install` under the machine's own systemd (PID 1
 * of new namespaces, test/support/systemd-host.ts), and what systemd does when a service dies:
 * SIGKILL of the scan bridge → active again (its READY=1), many times; SIGSTOP of a service →
 * the watchdog kills it → active again; and the whole target from stopped to every unit active.
 * Times come from systemd's own monotonic timestamps (the host's clock: no time namespace).
 * The baseline is `dolphin up`'s kill → ready of the same bridge (bench/results/recovery.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@dolphin/core';
import { bootSystemdHost, systemdHostUnavailable } from '../test/support/systemd-host.ts';
import { installedUnits, installWithScanFeed, signalToReady, unitStates, until } from '../test/support/dolphin-on-systemd.ts';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const KILLS = quick ? 5 : 30;
const BOOTS = quick ? 1 : 3;
const UNIT = 'dolphin-scan-bridge.service';

const why = await systemdHostUnavailable();
if (why) {
  console.error(`bench systemd-recovery cannot run here: ${why}`);
  process.exit(1);
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const median = (xs: number[]) => percentile(xs, 50);
const host = await bootSystemdHost();
try {
  console.log(`systemd host ${host.name}: booted in ${host.boot.ms} ms; installing`);
  const install = await installWithScanFeed(host);
  if (install.code !== 0) throw new Error(`dolphin install failed (exit ${install.code}):\n${install.stdout}\n${install.stderr}`);
  const { services, timers } = await installedUnits(host);

  // Kill → ready of the bridge, split at systemd's fork of the new process: restart delay, then start-up.
  const kills: number[] = [];
  const delays: number[] = [];
  const startups: number[] = [];
  for (let i = 0; i < KILLS; i += 1) {
    // The start limit (5 starts a minute) is for crash loops, not for a benchmark's kills.
    await host.systemctl('reset-failed', UNIT);
    const r = await signalToReady(host, UNIT, 'KILL');
    const show = await host.systemctl('show', '--property=ExecMainStartTimestampMonotonic,ActiveEnterTimestampMonotonic', UNIT);
    const fork = Number(/ExecMainStartTimestampMonotonic=(\d+)/.exec(show.stdout)?.[1]);
    const ready = Number(/ActiveEnterTimestampMonotonic=(\d+)/.exec(show.stdout)?.[1]);
    kills.push(r.ms);
    startups.push((ready - fork) / 1000);
    delays.push(r.ms - (ready - fork) / 1000);
    console.log(`kill ${i + 1}/${KILLS}: ${r.ms.toFixed(0)} ms (restart delay and sandbox ${delays.at(-1)?.toFixed(0)} ms, start-up ${startups.at(-1)?.toFixed(0)} ms)`);
    await new Promise((res) => setTimeout(res, 1_000));
  }

  // A frozen service: only the watchdog notices.
  const frozen = await signalToReady(host, 'dolphin-indicators.service', 'STOP', 60_000);
  console.log(`SIGSTOP of indicators → watchdog kill → active again: ${frozen.ms.toFixed(0)} ms`);

  // The target from stopped to every unit active (the member's JVM first, then the services).
  const boots: number[] = [];
  for (let i = 0; i < BOOTS; i += 1) {
    await host.systemctl('stop', 'dolphin.target');
    await until(async () => ((await unitStates(host, services)).every((u) => u.active !== 'active' && u.active !== 'deactivating') ? true : undefined), 'every unit stopped', 60_000, 100);
    await host.systemctl('reset-failed');
    const t0 = nowUs();
    await host.systemctl('start', '--no-block', 'dolphin.target');
    const states = await until(async () => {
      const s = await unitStates(host, [...services, ...timers]);
      return s.every((u) => u.active === 'active') ? s : undefined;
    }, 'every unit active', 180_000, 100);
    const ms = (Math.max(...states.map((s) => s.activeEnterUs)) - t0) / 1000;
    boots.push(ms);
    console.log(`dolphin.target stopped → every unit active: ${ms.toFixed(0)} ms`);
  }

  const recoveryFile = path.join(REPO_ROOT, 'bench/results/recovery.json');
  const up = existsSync(recoveryFile) ? (JSON.parse(readFileSync(recoveryFile, 'utf8')) as { when: string; metrics: { kill_to_ready_ms_p50: number; kill_to_ready_ms_p99: number } }) : undefined;
  const p50 = median(kills);
  const metrics = {
    kill_to_ready_ms_p50: round(p50, 1),
    kill_to_ready_ms_p99: round(percentile(kills, 99), 1),
    watchdog_kill_to_ready_ms: round(frozen.ms, 0),
    boot_to_all_active_ms: round(median(boots), 0),
    restart_delay_ms_p50: round(median(delays), 1),
    startup_ms_p50: round(median(startups), 1),
    kills: KILLS,
  };
  const file = writeResult('systemd-recovery', quick, {
    metrics,
    baseline: {
      what: `dolphin up's kill → ready of a critical service (bench/results/recovery.json${up ? `, ${up.when}` : ''}); the same machine, not the same run: a systemd host and the supervisor together would share its two cores`,
      ...(up ? { dolphin_up_kill_to_ready_ms_p50: up.metrics.kill_to_ready_ms_p50, systemd_over_dolphin_up_p50: round(p50 / up.metrics.kill_to_ready_ms_p50, 2) } : {}),
    },
  });
  console.log(JSON.stringify(metrics));
  console.log(`wrote ${file}`);
} finally {
  const report = await host.shutdown();
  console.log(`systemd host: ${report.how} in ${report.ms} ms${report.leftovers.length ? `; LEFT: ${report.leftovers.join(', ')}` : ''}`);
}
