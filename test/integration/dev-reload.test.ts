import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceRegistry } from '@dolphin/core';
import { freePort, REPO_ROOT } from '@dolphin/hz';
import { DevReloader, groupAlive, type ReloadReport } from '@dolphin/supervisor';
import { startTestSupervisor, testLogger, waitFor, type TestSupervisor } from '@dolphin/test-support';

// Sources a test may edit: under test/ so that they resolve @dolphin/* from test/node_modules,
// in a folder of their own (git-ignored, removed after).
const dir = mkdtempSync(path.join(REPO_ROOT, 'test', '.dev-'));
const file = (name: string) => path.join(dir, name);

/** A service under runService carrying `{starts, seen}` across restarts; prints what it has. */
const serviceSource = (name: string, helper: boolean) => `
import { runService } from '@dolphin/service-kit';
${helper ? "import { VERSION } from './helper.ts';" : 'const VERSION = 0;'}
await runService({
  name: '${name}',
  hazelcast: 'background',
  start(ctx) {
    let state = { starts: 0, seen: [] as number[] };
    ctx.registerState<typeof state>('work', { capture: () => state, restore: (v) => { state = v; } });
    state = { starts: state.starts + 1, seen: [...state.seen, VERSION] };
    ctx.logger.info({ fixture: '${name}', starts: state.starts, seen: state.seen, version: VERSION }, 'fixture ready');
  },
});
`;

let sup: TestSupervisor;
let reloader: DevReloader;
let pidFile: string;
const reports: ReloadReport[] = [];
const lines = (name: string) => readFileSync(path.join(sup.logDir, `${name}.log`), 'utf8').split('\n').filter((l) => l.includes('"fixture ready"')).map((l) => JSON.parse(l) as { starts: number; seen: number[]; version: number });
const nextReport = async (after: number) => waitFor(() => reports.length > after && reports[after], 'a reload', 60_000, 20);

beforeAll(async () => {
  writeFileSync(file('helper.ts'), 'export const VERSION = 1;\n');
  writeFileSync(file('a.ts'), serviceSource('dev-a', true));
  writeFileSync(file('b.ts'), serviceSource('dev-b', false));
  writeFileSync(file('c.ts'), serviceSource('dev-c', false));
  copyFileSync(path.join(REPO_ROOT, 'test/fixtures/stubborn.ts'), file('stubborn.ts'));
  pidFile = file('stubborn.pids');
  const nobody = await freePort();
  const never = { mode: 'never' };
  sup = await startTestSupervisor({
    'dev-a': { main: file('a.ts'), restart: never },
    'dev-b': { main: file('b.ts'), dependsOn: ['dev-a'], restart: never },
    'dev-c': { main: file('c.ts'), restart: never },
    stubborn: { main: file('stubborn.ts'), args: [pidFile], heartbeat: false, stopTimeoutMs: 500, restart: never },
  }, { env: { HZ_MEMBERS: `127.0.0.1:${nobody}`, DOLPHIN_LOG_LEVEL: 'info' } });
  await sup.supervisor.startAll();
  const registry = Object.fromEntries(sup.supervisor.processes.map((p) => [p.name, p.entry])) as ServiceRegistry;
  reloader = new DevReloader({ supervisor: sup.supervisor, registry, logger: testLogger('dev'), say: () => undefined, debounceMs: 50 });
  reloader.onReport = (r) => reports.push(r);
  await reloader.start();
}, 120_000);

afterAll(async () => {
  await reloader?.close();
  await sup?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dolphin dev: the reloader', () => {
  it('knows which service loads which file, through the workspace packages', () => {
    expect(reloader.servicesOf(file('helper.ts'))).toEqual(['dev-a']);
    expect(reloader.servicesOf(path.join(REPO_ROOT, 'packages/service-kit/src/run-service.ts')).sort()).toEqual(['dev-a', 'dev-b', 'dev-c']);
    expect(reloader.servicesOf(path.join(REPO_ROOT, 'packages/core/src/contract/scan.ts')).sort()).toEqual(['dev-a', 'dev-b', 'dev-c']);
  });

  it('an edit restarts that service and its dependents once each, in order, with their state restored', async () => {
    const pids = Object.fromEntries(sup.supervisor.processes.map((p) => [p.name, p.status().pid]));
    const n = reports.length;
    // An editor's save: truncate, then write, in a burst — one change.
    writeFileSync(file('helper.ts'), '');
    writeFileSync(file('helper.ts'), 'export const VERSION = 2;\n');
    const r = await nextReport(n);
    expect(r.error).toBeUndefined();
    expect(r.restarted.map((x) => [x.name, x.snapshot])).toEqual([['dev-a', 'written'], ['dev-b', 'written']]);
    await new Promise((res) => setTimeout(res, 300));
    expect(reports.length).toBe(n + 1);
    // The new processes restored what the old ones had: a second start, and the versions seen.
    expect(lines('dev-a').at(-1)).toMatchObject({ starts: 2, seen: [1, 2], version: 2 });
    expect(lines('dev-b').at(-1)).toMatchObject({ starts: 2, seen: [0, 0] });
    expect(sup.supervisor.get('dev-a')?.status().pid).not.toBe(pids['dev-a']);
    expect(sup.supervisor.get('dev-b')?.status().pid).not.toBe(pids['dev-b']);
    expect(sup.supervisor.get('dev-c')?.status().pid).toBe(pids['dev-c']);
    expect(lines('dev-c')).toHaveLength(1);
  });

  it('a file that does not compile restarts nothing and says where', async () => {
    const pid = sup.supervisor.get('dev-a')?.status().pid;
    const n = reports.length;
    writeFileSync(file('helper.ts'), 'export const VERSION = ;\n');
    const r = await nextReport(n);
    expect(r.restarted).toEqual([]);
    expect(r.error).toMatch(/helper\.ts: /);
    expect(sup.supervisor.get('dev-a')?.status()).toMatchObject({ pid, state: 'running' });
    // Saved the way vim and git do: a new file renamed over the old one.
    writeFileSync(file('helper.ts.new'), 'export const VERSION = 3;\n');
    renameSync(file('helper.ts.new'), file('helper.ts'));
    expect((await nextReport(n + 1)).restarted.map((x) => x.name)).toEqual(['dev-a', 'dev-b']);
    expect(lines('dev-a').at(-1)).toMatchObject({ starts: 3, seen: [1, 2, 3] });
  });

  it('a crash waits for the next change: no restart loop', async () => {
    const n = reports.length;
    writeFileSync(file('helper.ts'), "throw new Error('fixture crash at load');\nexport const VERSION = 4;\n");
    await nextReport(n);
    const a = sup.supervisor.get('dev-a');
    expect(a?.state).toBe('stopped');
    const restarts = a?.status().restarts;
    await new Promise((res) => setTimeout(res, 1_500));
    expect(a?.status()).toMatchObject({ state: 'stopped', restarts });
    writeFileSync(file('helper.ts'), 'export const VERSION = 5;\n');
    expect((await nextReport(n + 1)).restarted.map((x) => x.name)).toEqual(['dev-a', 'dev-b']);
    expect(a?.state).toBe('running');
    expect(lines('dev-a').at(-1)).toMatchObject({ version: 5 });
  });

  it('a service that ignores SIGTERM is killed with its whole group after its stop timeout', async () => {
    const before = JSON.parse(readFileSync(pidFile, 'utf8')) as { child: number; grandchild: number };
    const n = reports.length;
    writeFileSync(file('stubborn.ts'), `${readFileSync(file('stubborn.ts'), 'utf8')}\n// edited\n`);
    const r = await nextReport(n);
    expect(r.restarted.map((x) => [x.name, x.snapshot])).toEqual([['stubborn', 'failed']]);
    // Its process group (led by the old child, the grandchild in it) is empty: zombies aside, nothing lives on.
    expect(groupAlive(before.child)).toBe(false);
    const after = JSON.parse(readFileSync(pidFile, 'utf8')) as { child: number };
    expect(after.child).not.toBe(before.child);
    expect(sup.supervisor.get('stubborn')?.status().state).toBe('running');
  });
});
