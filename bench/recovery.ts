// How fast Dolphin comes back, and how it refuses to storm. A real member, the event trader and
// meta-health under a real supervisor (as `dolphin up` runs them):
// - SIGKILL the trader 50 times: kill → exit seen → restarted (spawned) → ready, p50/p99. Each
//   kill comes after the trader ran stably (resetAfterMs is 1 s here), so each restart waits the
//   initial 100 ms, as a single crash does in production.
// - one health cycle's cost: meta-health's own cycle_ms over every cycle of the run.
// - a service that crashes at start, for 60 s: starts under Dolphin's policy (backoff and a
//   start limit) against the baseline of the system Dolphin replaces, measured in the same run:
//   a restart every 2 s with no limit.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, dolphinConfigSchema, Keys, MapNames, metaHealthSchema, REPO_ROOT, serviceRegistrySchema } from '@dolphin/core';
import { connect, freePort, openMap, startMember, watchMap } from '@dolphin/hz';
import { serveControl, Supervisor, writeRunFile, type ProcessState } from '@dolphin/supervisor';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const KILLS = quick ? 8 : 50;
const CRASH_LOOP_S = quick ? 20 : 60;
const logger = createLogger({ service: 'bench-recovery', level: 'warn' });
// The supervisors say every restart at warn; the benchmark prints its own lines.
const quiet = createLogger({ service: 'bench-recovery', level: 'error' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function supervise(registry: Record<string, unknown>, env: NodeJS.ProcessEnv, root: string) {
  const stateDir = path.join(root, 'state');
  const runFile = path.join(root, 'run', 'supervisor.json');
  const config = dolphinConfigSchema.parse({ stateDir, supervisor: { sampleMs: 1_000 } });
  const supervisor = new Supervisor({
    registry: serviceRegistrySchema.parse(registry), config, logDir: path.join(root, 'logs'), logger: quiet,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_STATE_DIR: stateDir, DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(root, 'cfg-')), DOLPHIN_LOG_LEVEL: 'warn', DOLPHIN_SUPERVISOR_RUN_FILE: runFile, ...env },
  });
  const control = await serveControl(supervisor, { port: 0, logger: quiet, onShutdown: () => undefined });
  writeRunFile(runFile, { pid: process.pid, port: control.port, token: control.token, startedAt: new Date().toISOString(), logDir: path.join(root, 'logs') });
  return { supervisor, stop: async () => { await supervisor.stopAll(); await control.close(); } };
}

const crashFixture = path.join(REPO_ROOT, 'test/fixtures/crash-at-start.ts');
const countLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0);

/** Starts of a crash-at-start service in `seconds` under `restart`/`startLimit`. */
async function crashLoop(name: string, policy: Record<string, unknown>, seconds: number): Promise<number> {
  const root = mkdtempSync(path.join(os.tmpdir(), `dolphin-bench-${name}-`));
  const starts = path.join(root, 'starts');
  writeFileSync(starts, '');
  const s = await supervise({ crasher: { kind: 'command', command: [process.execPath, crashFixture, starts], readiness: { kind: 'none' }, ...policy } }, {}, root);
  void s.supervisor.startAll();
  await sleep(seconds * 1000);
  const n = countLines(starts);
  await s.stop();
  return n;
}

console.log(`recovery benchmark (${quick ? 'quick' : 'full'})`);
// The crash loops run beside the rest (they are light: a start every 100 ms at most).
const loops = Promise.all([
  crashLoop('dolphin-policy', {}, CRASH_LOOP_S),
  crashLoop('every-2s', { restart: { initialMs: 2_000, multiplier: 1, maxMs: 2_000 }, startLimit: { burst: 10_000, intervalMs: 60_000 } }, CRASH_LOOP_S),
]);

const port = await freePort();
const member = await startMember({ port, clusterName: `bench-recovery-${port}`, heapMb: 256 });
const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-recovery-'));
const { supervisor, stop } = await supervise({
  'event-trader': { critical: true, restart: { initialMs: 100, resetAfterMs: 1_000 }, startLimit: { burst: 10_000, intervalMs: 60_000 } },
  'meta-health': {},
}, { HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: member.clusterName, DOLPHIN__metaHealth__recoveryVia: '"supervisor"' }, root);
await supervisor.startAll();

const conn = await connect({ settings: { clusterName: member.clusterName, members: [member.address], connectTimeoutMs: 2_000, operationTimeoutMs: 10_000, reconnect: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 } }, logger, firstConnectTimeoutMs: 30_000 });
const cycles: number[] = [];
const health = watchMap(conn, await openMap(conn, MapNames.META_HEALTH, metaHealthSchema), {
  key: Keys.META_HEALTH_LATEST,
  onUpdate: (u) => { const c = (u.value as { cycle_ms?: number }).cycle_ms; if (typeof c === 'number') cycles.push(c); },
});
await health.ready;

const trader = supervisor.get('event-trader')!;
const stages = { detected: [] as number[], restarted: [] as number[], ready: [] as number[] };
for (let i = 0; i < KILLS; i++) {
  while (trader.state !== 'running' || (trader.status().uptimeS ?? 0) < 2) await sleep(50);
  const marks: Partial<Record<'exit' | 'starting' | 'running', number>> = {};
  const onExit = (name: string) => { if (name === 'event-trader') marks.exit ??= performance.now(); };
  const onState = (name: string, to: ProcessState) => { if (name === 'event-trader' && (to === 'starting' || to === 'running')) marks[to] ??= performance.now(); };
  supervisor.on('exit', onExit);
  supervisor.on('state', onState);
  const t0 = performance.now();
  process.kill(trader.pid as number, 'SIGKILL');
  while (marks.running === undefined) await sleep(5);
  supervisor.off('exit', onExit);
  supervisor.off('state', onState);
  stages.detected.push((marks.exit as number) - t0);
  stages.restarted.push((marks.starting as number) - t0);
  stages.ready.push(marks.running - t0);
  console.log(`  kill ${i + 1}: exit seen ${round(stages.detected.at(-1) as number, 1)} ms, respawned ${Math.round(stages.restarted.at(-1) as number)} ms, ready ${Math.round(marks.running - t0)} ms`);
}
const [dolphinStarts, naiveStarts] = await loops;
console.log(`  crash at start for ${CRASH_LOOP_S} s: ${dolphinStarts} starts under Dolphin's policy, ${naiveStarts} restarting every 2 s`);
console.log(`  health cycle: p50 ${percentile(cycles, 50)} ms, p99 ${percentile(cycles, 99)} ms over ${cycles.length} cycles`);

await health.close();
await conn.shutdown();
await stop();
await member.stop(15_000);

const file = writeResult('recovery', quick, {
  metrics: {
    kill_to_ready_ms_p50: round(percentile(stages.ready, 50), 1),
    kill_to_ready_ms_p99: round(percentile(stages.ready, 99), 1),
    health_cycle_ms_p50: round(percentile(cycles, 50), 1),
    // A quick run watches for less than 60 s; it still counts every start of the loop.
    starts_during_crashloop_60s: dolphinStarts,
    kill_to_exit_seen_ms_p50: round(percentile(stages.detected, 50), 2),
    kill_to_respawn_ms_p50: round(percentile(stages.restarted, 50), 1),
    kill_to_respawn_ms_p99: round(percentile(stages.restarted, 99), 1),
    health_cycle_ms_p99: round(percentile(cycles, 99), 1),
    kills: KILLS,
    health_cycles: cycles.length,
  },
  baseline: {
    what: `a service that crashes at start, watched ${CRASH_LOOP_S} s in the same run: started again every 2 s with no start limit (the system Dolphin replaces) against Dolphin's default policy (100 ms doubling, FAILED after 5 starts within 60 s)`,
    starts_every_2s_no_limit: naiveStarts,
    ratio_starts_dolphin_over_baseline: round(dolphinStarts / Math.max(1, naiveStarts), 3),
  },
});
console.log(`wrote ${file}`);
