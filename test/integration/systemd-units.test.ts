import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@dolphin/hz';

const UNITS = path.join(REPO_ROOT, 'deploy/systemd');
const dolphin = (args: string[]) => spawnSync(path.join(REPO_ROOT, 'dolphin'), args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1' } });
const unitFiles = (dir: string) => readdirSync(dir).filter((f) => /\.(service|target)$/.test(f)).sort();

describe('systemd units', () => {
  it('the committed units are what the registry generates', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'dolphin-units-'));
    const r = dolphin(['systemd', 'generate', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(unitFiles(UNITS)).toEqual(unitFiles(out));
    for (const f of unitFiles(out)) expect(readFileSync(path.join(UNITS, f), 'utf8'), `${f}: regenerate with ./dolphin systemd generate`).toBe(readFileSync(path.join(out, f), 'utf8'));
  });

  it('every unit has the limits, the restart policy and the sandbox, as a non-root user', () => {
    for (const f of unitFiles(UNITS).filter((x) => x.endsWith('.service'))) {
      const text = readFileSync(path.join(UNITS, f), 'utf8');
      for (const key of ['Restart=always', 'RestartSec=', 'StartLimitIntervalSec=', 'StartLimitBurst=', 'MemoryMax=', 'CPUQuota=', 'TasksMax=', 'KillMode=control-group', 'TimeoutStopSec=', 'User=dolphin', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes']) {
        expect(text, `${f} has ${key}`).toContain(key);
      }
      // The start limit belongs in [Unit]: in [Service] systemd ignores it.
      expect(text.indexOf('StartLimitBurst=')).toBeLessThan(text.indexOf('[Service]'));
      expect(text).not.toMatch(/^User=root/m);
    }
    expect(readFileSync(path.join(UNITS, 'dolphin-meta-health.service'), 'utf8')).toMatch(/^Type=notify$[\s\S]*^WatchdogSec=10$/m);
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
