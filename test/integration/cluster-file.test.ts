import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, memberHealth, REPO_ROOT, startMember, type MemberHandle } from '@dolphin/hz';
import { spawnCollecting, testLogger, waitFor } from '@dolphin/test-support';

const started: MemberHandle[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop(10_000)));
});

/** The local addresses listening on `port`, from `ss -ltn` (the kernel's view, not the JVM's). */
function listeners(port: number): string[] {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/)[3] as string);
}

// Any 127.x address is local on the root namespace's lo (127.0.0.0/8 is routed to it), so two
// "hosts" on one machine are two loopback addresses.
describe('a member bound to its host address', () => {
  it('listens on 127.0.0.2 only: not on 127.0.0.1, not on 0.0.0.0', async () => {
    const port = await freePort();
    const m = await startMember({ port, address: '127.0.0.2', clusterName: 'bind-test', heapMb: 256, logger: testLogger() });
    started.push(m);
    expect(m.address).toBe(`127.0.0.2:${port}`);
    expect(listeners(port)).toEqual([`127.0.0.2:${port}`]);
    expect(await memberHealth(`127.0.0.2:${port}`)).toMatchObject({ nodeState: 'ACTIVE', clusterSize: 1 });
    expect(await memberHealth(`127.0.0.1:${port}`, 500)).toBeUndefined();
  });

  it('two members on 127.0.0.2 and 127.0.0.3, same port, form one cluster of 2', async () => {
    const port = await freePort();
    const members = [`127.0.0.2:${port}`, `127.0.0.3:${port}`];
    const common = { port, clusterName: 'bind-pair', heapMb: 256, members, logger: testLogger() };
    const [a, b] = await Promise.all([startMember({ ...common, address: '127.0.0.2' }), startMember({ ...common, address: '127.0.0.3' })]);
    started.push(a, b);
    expect(listeners(port).sort()).toEqual(members);
    for (const at of members) {
      await waitFor(async () => (await memberHealth(at))?.clusterSize === 2, `${at} to see a cluster of 2`, 60_000);
    }
  });
});

const EXAMPLE = 'config/cluster.example.json';
const example = () => JSON.parse(readFileSync(path.join(REPO_ROOT, EXAMPLE), 'utf8')) as Record<string, any>;

/** `dolphin up` with a run folder of its own; its exit code and what it printed. */
async function up(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; text: string; runDir: string }> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-run-'));
  const p = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), ['up', ...args], {
    PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN_RUN_DIR: runDir,
    DOLPHIN_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-state-')), DOLPHIN__supervisor__controlPort: '0', ...env,
  });
  const exit = await p.exited;
  return { code: exit.code, text: p.text.join('\n'), runDir };
}

/** A copy of the example, changed by `edit`, on a free member port; its path and port. */
async function clusterFile(edit: (f: Record<string, any>) => void): Promise<{ file: string; port: number }> {
  const f = example();
  const port = await freePort();
  f.memberPort = port;
  edit(f);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-cluster-')), 'cluster.json');
  writeFileSync(file, JSON.stringify(f));
  return { file, port };
}

describe('dolphin up --host with a cluster file: bad input starts nothing (exit 78)', () => {
  it('a host the file does not have: named, with the hosts', async () => {
    const r = await up(['--host', 'h9', '--cluster', EXAMPLE]);
    expect(r.code).toBe(78);
    expect(r.text).toContain(`host: h9 is not a host of ${EXAMPLE} (h1, h2, h3)`);
    expect(readdirSync(r.runDir)).toEqual([]);
  });

  const cases: [string, (f: Record<string, any>) => void, string | RegExp, Record<string, string>?][] = [
    ['a duplicate address', (f) => { f.hosts.h2.address = f.hosts.h1.address; }, 'hosts.h2.address: 127.77.0.1 is also the address of h1'],
    ['a colour without parameters', (f) => { delete f.colours.GREEN.params; }, 'colours.GREEN.params: missing: a colour needs its own strategy parameters'],
    ['a colour parameter the strategy does not have', (f) => { f.colours.GREEN.params.noSuchKnob = 1; }, /colours\.GREEN\.params/],
    ['a placed service the registry does not have', (f) => { f.placement['no-such'] = ['h1']; f.hosts.h1.address = '127.0.0.1'; }, 'placement.no-such: not in the service registry'],
    // 127.77.0.2 routes to lo here but is no interface's address: not this machine's.
    ["an address that is not this machine's", () => undefined, /hosts\.h2\.address: 127\.77\.0\.2 is not an address of this machine \(it has 127\.0\.0\.1/],
  ];
  for (const [what, edit, expected] of cases) {
    it(`${what}: named, and no member listens`, async () => {
      const { file, port } = await clusterFile(edit);
      const host = what.startsWith('a placed') ? 'h1' : 'h2';
      // The environment variables, as a unit would set them.
      const r = await up([], { DOLPHIN_HOST: host, DOLPHIN_CLUSTER_FILE: file });
      expect(r.code).toBe(78);
      if (typeof expected === 'string') expect(r.text).toContain(expected);
      else expect(r.text).toMatch(expected);
      expect(listeners(port)).toEqual([]);
      expect(readdirSync(r.runDir)).toEqual([]);
    });
  }
});
