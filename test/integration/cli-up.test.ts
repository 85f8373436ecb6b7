import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, memberHealth, REPO_ROOT } from '@dolphin/hz';
import { spawnCollecting, waitFor, type SpawnedProcess } from '@dolphin/test-support';

const spawned: SpawnedProcess[] = [];
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
});

function dolphin(args: string[], env: Record<string, string>): SpawnedProcess {
  const p = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), args, {
    PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN__log__pretty: '"never"', ...env,
  });
  spawned.push(p);
  return p;
}

const said = (p: SpawnedProcess, re: RegExp) => p.text.find((l) => re.test(l));
const SECRET = 'a-secret-that-must-reach-no-child';
/** Every file and folder below `dir` (the folder itself not included). */
const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
  const p = path.join(dir, d.name);
  return d.isDirectory() ? [p, ...walk(p)] : [p];
});

describe('./dolphin up', () => {
  it('runs a local member, refuses a twin, and stops everything on Ctrl-C', async () => {
    const port = await freePort();
    const env = {
      DOLPHIN_RUN_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-run-')), DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-cfg-')),
      DOLPHIN_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-state-')),
      DOLPHIN__jobs__port: '0', DOLPHIN__supervisor__controlPort: '0',
    };
    const scans = mkdtempSync(path.join(os.tmpdir(), 'dolphin-scans-'));
    // A secret in the caller's environment: it must reach no process up starts.
    const up = dolphin(['up', '--demo', '--port', String(port), '--rate', '5'], { ...env, DOLPHIN__scans__dir: JSON.stringify(scans), SOME_API_TOKEN: SECRET });
    await waitFor(() => said(up, /running; Ctrl-C \(or dolphin down\) stops everything/), 'dolphin up to say it runs', 90_000);
    expect(said(up, new RegExp(`member ready on 127\\.0\\.0\\.1:${port} \\(cluster dolphin, pid \\d+\\) in \\d+ ms`))).toBeDefined();
    for (const name of ['scan-bridge', 'producer', 'event-trader', 'indicators', 'safety', 'meta-health', 'jobs-api']) {
      expect(said(up, new RegExp(`${name} running \\(pid \\d+, ready in \\d+ ms\\)`)), name).toBeDefined();
    }
    // The demo trades on scans: they arrive, and `dolphin up` shows them as they do, with the
    // posture the safety service decides from the demo indicators.
    await waitFor(() => up.text.filter((l) => /scan #\d+ .* vel_div -?\d\.\d{4}/.test(l)).length >= 2, 'scans shown arriving', 30_000);
    await waitFor(() => said(up, /safety: (APEX|STALKER|TURTLE|HIBERNATE) size ×\d\.\d\d/), 'the safety posture shown', 30_000);
    expect(await memberHealth(`127.0.0.1:${port}`)).toMatchObject({ nodeState: 'ACTIVE' });

    const twin = dolphin(['up', '--port', String(port + 1)], env);
    expect((await twin.exited).code).toBe(1);
    expect(said(twin, /already running \(pid \d+\)/)).toBeDefined();

    // The supervisor's table, through its control endpoint: every process running, none restarted.
    const status = dolphin(['status'], env);
    expect((await status.exited).code).toBe(0);
    for (const name of ['member', 'scan-bridge', 'event-trader', 'indicators', 'safety', 'meta-health', 'jobs-api', 'producer']) {
      expect(status.text.find((l) => new RegExp(`^${name}( \\*)?\\s+running\\s+\\d+\\s+\\S+\\s+0\\s`).test(l)), `${name} in dolphin status`).toBeDefined();
    }

    // Meta-health, run by the supervisor, watches the member `up` was told to run (--port).
    await waitFor(async () => {
      const h = dolphin(['health', '--json'], { ...env, HZ_MEMBERS: `127.0.0.1:${port}` });
      await h.exited;
      const record = JSON.parse(h.text.join('\n') || '{}') as { status?: string; m4_control_plane?: number; recovery?: { spent: string[] } };
      return record.status === 'GREEN' && record.m4_control_plane === 1 && record.recovery?.spent.length === 0;
    }, 'dolphin health to say GREEN', 60_000, 1_000);

    // Nobody else reads what Dolphin writes: no file or folder it made is open to other users.
    const open = [env.DOLPHIN_RUN_DIR, env.DOLPHIN_STATE_DIR].flatMap((d) => walk(d)).filter((f) => (statSync(f).mode & 0o007) !== 0);
    expect(open, 'files and folders other users may read').toEqual([]);
    // No child was given the secret; the member's JVM was given nothing of Dolphin's.
    const pids = status.text.map((l) => /^(\S+)(?: \*)?\s+running\s+(\d+)\s/.exec(l)).filter((m) => m !== null).map((m) => [m[1], Number(m[2])] as const);
    expect(pids.length).toBeGreaterThanOrEqual(8);
    for (const [name, pid] of pids) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ.includes(SECRET), `${name} was handed the secret`).toBe(false);
      if (name === 'member') expect(environ.split('\0').filter((v) => v.startsWith('DOLPHIN') || v.startsWith('HZ_')), 'the member\'s environment').toEqual([]);
    }

    process.kill(up.child.pid as number, 'SIGINT');
    expect((await up.exited).code).toBe(0);
    for (const name of ['producer', 'meta-health', 'event-trader', 'scan-bridge', 'safety', 'indicators']) expect(said(up, new RegExp(`${name} stopped \\(0\\)`)), name).toBeDefined();
    expect(await memberHealth(`127.0.0.1:${port}`, 500)).toBeUndefined();
  });

  it('--help explains the commands', async () => {
    const help = dolphin(['--help'], {});
    expect((await help.exited).code).toBe(0);
    const text = help.text.join('\n');
    for (const cmd of ['up', 'test', 'member', 'doctor']) expect(text).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });
});
