import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@dolphin/hz';

const UNITS = path.join(REPO_ROOT, 'deploy/systemd');
const dolphin = (args: string[]) => spawnSync(path.join(REPO_ROOT, 'dolphin'), args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1' } });
const unitFiles = (dir: string) => readdirSync(dir).filter((f) => /\.(service|target|timer)$/.test(f)).sort();
const text = (f: string) => readFileSync(path.join(UNITS, f), 'utf8');
/** Units that run all the time (a scheduled one is a oneshot started by its timer). */
const longRunning = () => unitFiles(UNITS).filter((f) => f.endsWith('.service') && !/^Type=oneshot$/m.test(text(f)));

describe('systemd units', () => {
  it('the committed units are what the registry generates', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'dolphin-units-'));
    const r = dolphin(['systemd', 'generate', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(unitFiles(UNITS)).toEqual(unitFiles(out));
    for (const f of unitFiles(out)) expect(readFileSync(path.join(UNITS, f), 'utf8'), `${f}: regenerate with ./dolphin systemd generate`).toBe(readFileSync(path.join(out, f), 'utf8'));
    const rule = 'polkit/50-dolphin-recovery.rules';
    expect(readFileSync(path.join(UNITS, rule), 'utf8'), `${rule}: regenerate`).toBe(readFileSync(path.join(out, rule), 'utf8'));
  });

  it('start as installed: no bootstrap, every Node service notifies and has a watchdog, the member stops cleanly, logs go to the journal', () => {
    for (const f of unitFiles(UNITS).filter((x) => x.endsWith('.service'))) {
      const t = text(f);
      const exec = /^ExecStart=(.*)$/m.exec(t)?.[1] ?? '';
      // The bootstrap writes under the prefix (ProtectSystem=strict makes it read-only): never at start.
      expect(exec, f).not.toMatch(/\/dolphin (service|daily)\b/);
      expect(t, f).toMatch(/^SyslogIdentifier=dolphin-[a-z-]+$/m);
      if (f === 'dolphin-member.service') {
        expect(exec).toMatch(/^\/usr\/bin\/java /);
        expect(t).toMatch(/^SuccessExitStatus=143$/m);
        continue;
      }
      expect(exec, f).toMatch(/^\/opt\/dolphin\/cache\/node\/[\d.]+\/bin\/node --max-semi-space-size=4 --max-old-space-size=192 \/opt\/dolphin\//);
      expect(t, f).toMatch(/^LoadCredential=dolphin\.key:\/etc\/dolphin\/dolphin\.key$/m);
      if (/^Type=oneshot$/m.test(t)) continue;
      expect(t, f).toMatch(/^Type=notify$[\s\S]*^WatchdogSec=10$[\s\S]*^WatchdogSignal=SIGKILL$/m);
    }
    // The token names are the ones the services resolve ($CREDENTIALS_DIRECTORY/<name>.token).
    expect(text('dolphin-jobs-api.service')).toMatch(/^LoadCredential=jobs\.token:\/etc\/dolphin\/jobs\.token$/m);
    expect(text('dolphin-dashboard.service')).toMatch(/^LoadCredential=dashboard\.token:\/etc\/dolphin\/dashboard\.token$/m);
    const rule = readFileSync(path.join(UNITS, 'polkit/50-dolphin-recovery.rules'), 'utf8');
    expect(rule).toContain('action.lookup("unit") === "dolphin-member.service"');
    expect(rule).not.toMatch(/dolphin-\[/);
  });

  it('every unit has the limits, the restart policy and the sandbox, as a non-root user', () => {
    for (const f of longRunning()) {
      const text = readFileSync(path.join(UNITS, f), 'utf8');
      for (const key of ['Restart=always', 'RestartSec=', 'StartLimitIntervalSec=', 'StartLimitBurst=', 'MemoryMax=', 'CPUQuota=', 'TasksMax=', 'KillMode=control-group', 'TimeoutStopSec=', 'User=dolphin', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes']) {
        expect(text, `${f} has ${key}`).toContain(key);
      }
      // The start limit belongs in [Unit]: in [Service] systemd ignores it.
      expect(text.indexOf('StartLimitBurst=')).toBeLessThan(text.indexOf('[Service]'));
      expect(text).not.toMatch(/^User=root/m);
    }
    expect(readFileSync(path.join(UNITS, 'dolphin-meta-health.service'), 'utf8')).toMatch(/^Type=notify$[\s\S]*^WatchdogSec=10$/m);
    for (const timer of unitFiles(UNITS).filter((x) => x.endsWith('.timer'))) {
      expect(text(timer), timer).toMatch(/^OnCalendar=.* UTC$[\s\S]*^Persistent=true$[\s\S]*^RandomizedDelaySec=\d+$/m);
      expect(text('dolphin.target'), timer).toContain(timer);
    }
  });

  it('systemd-analyze verify passes and every unit is exposed 2.0 or less', () => {
    expect(() => execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' }), 'systemd-analyze (Debian package systemd) is needed').not.toThrow();
    const r = dolphin(['systemd', 'verify']);
    expect(r.stdout).toMatch(/^systemd-analyze verify: ok$/m);
    const exposures = [...r.stdout.matchAll(/^ {2}(\S+)\s+exposure ([\d.]+)/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(exposures.map(([u]) => u)).toEqual(unitFiles(UNITS).filter((x) => x.endsWith('.service')));
    for (const [unit, e] of exposures) expect(e, unit).toBeLessThanOrEqual(2.0);
    expect(r.status).toBe(0);
  });
});
