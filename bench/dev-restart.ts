// dolphin dev against the usual watchers: a file a service imports is saved → the service runs
// again as a new process, ready (with its state restored, for dolphin dev). The same service —
// runService with its config, logger, background Hazelcast client, metrics and a registered
// state — restarted 20 times by each of: dolphin dev's reloader (under the real supervisor),
// `node --watch`, and nodemon; the three measured in the same run, one after the other.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, dolphinConfigSchema, REPO_ROOT, serviceRegistrySchema, type ServiceRegistry } from '@dolphin/core';
import { freePort } from '@dolphin/hz';
import { SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { DevReloader, Supervisor } from '@dolphin/supervisor';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const EDITS = quick ? 8 : 20;
/** Between a ready and the next save: a person reads the result before the next edit. */
const PAUSE_MS = 1_000;
const logger = createLogger({ service: 'bench-dev', level: 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Under test/ so that it resolves @dolphin/* from test/node_modules (git-ignored, removed after).
const dir = mkdtempSync(path.join(REPO_ROOT, 'test', '.dev-'));
const main = path.join(dir, 'svc.ts');
const helper = path.join(dir, 'helper.ts');
const nobody = await freePort();
writeFileSync(main, `
import { runService } from '@dolphin/service-kit';
import { VERSION } from './helper.ts';
await runService({
  name: 'bench-svc',
  hazelcast: 'background',
  start(ctx) {
    let state = { starts: 0, versions: [] as number[] };
    ctx.registerState<typeof state>('work', { capture: () => state, restore: (v) => { state = v; } });
    state = { starts: state.starts + 1, versions: [...state.versions.slice(-50), VERSION] };
    ctx.logger.info({ starts: state.starts, version: VERSION }, 'bench service ready');
  },
});
`);
let version = 0;
const save = () => writeFileSync(helper, `export const VERSION = ${++version};\n`);
save();
const env = { ...process.env, HZ_MEMBERS: `127.0.0.1:${nobody}`, DOLPHIN_LOG_LEVEL: 'info', DOLPHIN__log__pretty: '"never"', DOLPHIN_STATE_DIR: path.join(dir, 'state'), DOLPHIN_CONFIG_DIR: path.join(dir, 'cfg') };

/** dolphin dev: the supervisor runs the service, the reloader restarts it on each save. */
async function viaDolphinDev(): Promise<{ ms: number[]; restored: number }> {
  const config = dolphinConfigSchema.parse({ stateDir: path.join(dir, 'state') });
  const registry: ServiceRegistry = serviceRegistrySchema.parse({ 'bench-svc': { main, restart: { mode: 'never' } } });
  const supervisor = new Supervisor({ registry, config, logDir: path.join(dir, 'logs'), env, logger });
  await supervisor.startAll();
  const proc = supervisor.get('bench-svc');
  const reloader = new DevReloader({ supervisor, registry, logger, say: () => undefined });
  await reloader.start();
  await sleep(1_000); // as the watchers get: settled before the first save
  const ms: number[] = [];
  let restored = 0;
  for (let i = 0; i < EDITS; i++) {
    const oldPid = proc?.status().pid;
    const ready = new Promise<number>((resolve) => {
      const on = (name: string, to: string) => {
        if (name === 'bench-svc' && to === 'running' && proc?.status().pid !== oldPid) {
          supervisor.off('state', on);
          resolve(performance.now());
        }
      };
      supervisor.on('state', on);
    });
    const t0 = performance.now();
    save();
    ms.push((await ready) - t0);
    const report = await (async () => { while (reloader.reports.length <= i) await sleep(5); return reloader.reports[i]; })();
    if (report?.restarted[0]?.snapshot === 'written') restored++;
    if (process.env.BENCH_DEBUG) console.log(`    reload ${report?.restarted[0]?.ms} ms, spawn → ready ${proc?.status().readyMs} ms`);
    await sleep(PAUSE_MS);
  }
  await reloader.close();
  await supervisor.stopAll();
  return { ms, restored };
}

/** A watcher restarting the service by itself: save → the new process's ready line on stdout. */
async function viaWatcher(cmd: string, args: string[]): Promise<number[]> {
  const child: ChildProcess = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let waiter: ((t: number) => void) | undefined;
  let buf = '';
  child.stdout?.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.includes('"bench service ready"')) waiter?.(performance.now());
    }
  });
  const nextReady = () => new Promise<number>((r) => { waiter = r; });
  await nextReady();
  await sleep(1_000); // the watcher settles on its file list
  const ms: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const ready = nextReady();
    const t0 = performance.now();
    save();
    ms.push((await ready) - t0);
    await sleep(PAUSE_MS);
  }
  try { process.kill(-(child.pid as number), 'SIGTERM'); } catch { /* gone */ }
  await new Promise((r) => child.once('exit', r));
  return ms;
}

const stats = (ms: number[]) => ({ p50: percentile(ms, 50), p95: percentile(ms, 95) });
try {
  console.log(`dev restart (${quick ? 'quick' : 'full'}): ${EDITS} saves each`);
  const dev = await viaDolphinDev();
  console.log(`  dolphin dev:  p50 ${stats(dev.ms).p50.toFixed(0)} ms p95 ${stats(dev.ms).p95.toFixed(0)} ms, state restored ${dev.restored}/${EDITS}`);
  const nodeWatch = await viaWatcher(process.execPath, ['--watch', ...SERVICE_NODE_FLAGS, main]);
  console.log(`  node --watch: p50 ${stats(nodeWatch).p50.toFixed(0)} ms p95 ${stats(nodeWatch).p95.toFixed(0)} ms`);
  const nodemonBin = path.join(REPO_ROOT, 'bench/node_modules/nodemon/bin/nodemon.js');
  // nodemon's own debounce is 1 s by default; 50 ms, as dolphin dev's, keeps the comparison about restarting.
  const nodemon = await viaWatcher(process.execPath, [nodemonBin, '--quiet', '--delay', '0.05', '--watch', dir, '--ext', 'ts', '--exec', `${process.execPath} ${SERVICE_NODE_FLAGS.join(' ')} ${main}`]);
  console.log(`  nodemon:      p50 ${stats(nodemon).p50.toFixed(0)} ms p95 ${stats(nodemon).p95.toFixed(0)} ms`);
  const file = writeResult('dev-restart', quick, {
    metrics: {
      save_to_ready_ms_p50: round(stats(dev.ms).p50, 1),
      save_to_ready_ms_p95: round(stats(dev.ms).p95, 1),
      node_watch_save_to_ready_ms_p50: round(stats(nodeWatch).p50, 1),
      nodemon_save_to_ready_ms_p50: round(stats(nodemon).p50, 1),
      node_watch_save_to_ready_ms_p95: round(stats(nodeWatch).p95, 1),
      nodemon_save_to_ready_ms_p95: round(stats(nodemon).p95, 1),
      state_restored_of_edits: dev.restored,
      edits: EDITS,
    },
    baseline: {
      what: 'node --watch and nodemon (--delay 0.05) restarting the same service on the same saves, in the same run; they carry no state',
      ratio_p50_over_node_watch: round(stats(dev.ms).p50 / stats(nodeWatch).p50, 3),
      ratio_p50_over_nodemon: round(stats(dev.ms).p50 / stats(nodemon).p50, 3),
    },
  });
  console.log(`wrote ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
