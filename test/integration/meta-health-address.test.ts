import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '@dolphin/hz';
import { spawnCollecting, waitFor, type SpawnedProcess } from '@dolphin/test-support';

// A cluster host's member binds its host's address only (member.address): `dolphin up` starts
// it there, the services connect there, and meta-health checks it there — at 127.0.0.1 it found
// the member down and had it restarted.

const spawned: SpawnedProcess[] = [];
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.cleanup()));
});

describe('dolphin up with member.address', () => {
  it('a member on 127.0.0.2 only: the services connect, meta-health sees it answer and restarts nothing', async () => {
    const port = await freePort();
    const state = mkdtempSync(path.join(os.tmpdir(), 'dolphin-state-'));
    const env = {
      PATH: process.env.PATH as string, HOME: process.env.HOME as string, DOLPHIN_QUIET: '1', DOLPHIN__log__pretty: '"never"',
      DOLPHIN_RUN_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-run-')), DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-cfg-')),
      DOLPHIN_STATE_DIR: state, DOLPHIN__jobs__port: '0', DOLPHIN__supervisor__controlPort: '0',
      DOLPHIN__member__address: '"127.0.0.2"', DOLPHIN__metaHealth__memberDownAfterMs: '2000',
    };
    const up = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), ['up', '--port', String(port)], env);
    spawned.push(up);
    await waitFor(() => up.text.find((l) => /running; Ctrl-C \(or dolphin down\) stops everything/.test(l)), 'dolphin up to say it runs', 90_000);
    expect(up.text.find((l) => new RegExp(`member ready on 127\\.0\\.0\\.2:${port}`).test(l))).toBeDefined();
    const listening = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
    expect(listening).toContain(`127.0.0.2:${port}`);
    expect(listening).not.toContain(`127.0.0.1:${port}`);
    // Several cycles past memberDownAfterMs: the member answers where it is, nobody restarts it.
    const file = path.join(state, 'meta_health.json');
    await waitFor(() => existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { hazelcast: boolean }).hazelcast === true ? true : undefined, 'meta-health to see the member answer', 60_000);
    await new Promise((r) => setTimeout(r, 5_000));
    const h = JSON.parse(readFileSync(file, 'utf8')) as { hazelcast: boolean; recovery?: { recent?: unknown[] } };
    expect(h.hazelcast).toBe(true);
    expect(h.recovery?.recent ?? []).toEqual([]);
    expect(up.text.filter((l) => /restarting member/.test(l))).toEqual([]);
  });
});
