// How fast Dolphin comes back, and how it refuses to storm. A real member, the event trader and
// meta-health under a real supervisor (as `dolphin up` runs them):
// - SIGKILL the trader 50 times: kill → exit seen → restarted (spawned) → ready, p50/p99. Each
//   kill comes after the trader ran stably (resetAfterMs is 1 s here), so each restart waits the
//   initial 100 ms, as a single crash does in production.
// - one health cycle's cost: meta-health's own cycle_ms over every cycle of the run.
// - a service that crashes at start, for 60 s: starts and CPU (the loop's processes and the
//   supervisor's own) under Dolphin's policies — the default, a critical entry's, and candidate
//   caps of the critical backoff (500 ms … 5 s) — against the baseline of the system Dolphin
//   replaces, measured in the same run: a restart every 2 s with no limit. Each loop runs under a
//   supervisor in a process of its own, so its CPU is its own.
// - a crash-looping trader (the real one, exiting at start: its metrics port is taken) for
//   60 s: starts and CPU under a critical entry's policy, under the policy every entry had before
//   (100 ms doubling to 30 s, reset after 60 s healthy) and restarting every 2 s.
// - the trader (critical) killed 4 times in a row, each 0.5 s after it is ready again (a fresh
//   start and 4 restarts are the 5 starts the start limit allows in 60 s): kill → ready of each
//   kill under a critical entry's policy, each candidate cap and the old policy, in rounds that
//   take the policies in turn (the machine's load moves; each kill's median over the rounds).
// - the trader killed after each 13 s of running, 6 times (kills spread out, as in a chaos run):
//   kill → ready under a critical entry's policy, the same without its early reset (60 s) and
//   the old policy, side by side.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger, dolphinConfigSchema, Keys, MapNames, metaHealthSchema, REPO_ROOT, serviceRegistrySchema } from '@dolphin/core';
import { connect, freePort, openMap, startMember, watchMap } from '@dolphin/hz';
import { parseStat, serveControl, Supervisor, writeRunFile, type ProcessState, type SupervisedProcess } from '@dolphin/supervisor';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const KILLS = quick ? 8 : 50;
const CRASH_LOOP_S = quick ? 20 : 60;
/** A fresh start and this many restarts: the 5 starts the default start limit allows within 60 s. */
const BURST_KILLS = 4;
const BURST_ROUNDS = quick ? 1 : 3;
const SPACED_KILLS = quick ? 3 : 6;
/** Running this long before each spaced kill: past a critical entry's reset, short of the old 60 s. */
const SPACED_RUN_MS = 13_000;
const CAPS = [250, 500, 1_000, 2_000, 5_000] as const;
/** Every entry's restart policy before issue 15: the baseline. */
const OLD_POLICY = { initialMs: 100, multiplier: 2, maxMs: 30_000, resetAfterMs: 60_000 };
/** The system Dolphin replaces: a restart every 2 s, no limit. */
const EVERY_2S = { restart: { initialMs: 2_000, multiplier: 1, maxMs: 2_000 }, startLimit: { burst: 10_000, intervalMs: 60_000 } };
/** USER_HZ: /proc times are in these ticks. */
const CLOCK_TICKS_PER_S = 100;
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
  // Stopping removes the run's folders (state, logs) too: a benchmark leaves nothing behind.
  return { supervisor, stop: async () => { await supervisor.stopAll(); await control.close(); rmSync(root, { recursive: true, force: true }); } };
}

/** CPU seconds of this process and of its children it has reaped (cutime + cstime). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Numbered as in proc(5) from state (3): cutime is 16, cstime 17.
  const children = (Number(f[16 - 3]) + Number(f[17 - 3])) / CLOCK_TICKS_PER_S;
  return (own.user + own.system) / 1e6 + children;
}

interface LoopSpec { registry: Record<string, unknown>; seconds: number; env: NodeJS.ProcessEnv }
interface LoopResult { starts: number; cpuS: number; failedAfterMs: number }

/** In a process of its own (`--crash-loop <json>`): one crash loop under a supervisor, then its figures on stdout. */
async function crashLoopChild(spec: LoopSpec): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-loop-'));
  const s = await supervise(spec.registry, spec.env, root);
  let starts = 0;
  let failedAt: number | undefined;
  s.supervisor.on('state', (_name: string, to: ProcessState) => {
    if (to === 'starting') starts += 1;
    if (to === 'failed') failedAt ??= performance.now();
  });
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  void s.supervisor.startAll();
  await sleep(spec.seconds * 1000);
  await s.stop();
  const result: LoopResult = { starts, cpuS: cpuSeconds() - cpu0, failedAfterMs: failedAt === undefined ? -1 : Math.round(failedAt - t0) };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/** Runs one crash loop in a child process (its CPU and its children's are then its own). */
function crashLoop(spec: LoopSpec): Promise<LoopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, '--crash-loop', JSON.stringify(spec)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`crash loop exited ${code}: ${out}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as LoopResult);
    });
  });
}

const crashFixture = path.join(REPO_ROOT, 'test/fixtures/crash-at-start.ts');
const crasher = (policy: Record<string, unknown>) => ({ crasher: { kind: 'command', command: [process.execPath, crashFixture, '/dev/null'], readiness: { kind: 'none' }, ...policy } });

/** One SIGKILL of a running process: when the supervisor saw the exit, spawned again, saw it ready; the delay it chose. */
async function killOnce(supervisor: Supervisor, p: SupervisedProcess): Promise<{ exitMs: number; respawnMs: number; readyMs: number; delayMs: number; cpuS: number }> {
  const marks: Partial<Record<'exit' | 'starting' | 'running', number>> = {};
  let delayMs = Number.NaN;
  const onExit = (name: string) => { if (name === p.name) marks.exit ??= performance.now(); };
  const onState = (name: string, to: ProcessState, _from: ProcessState, detail?: string) => {
    if (name !== p.name) return;
    if (to === 'starting' || to === 'running') marks[to] ??= performance.now();
    const m = to === 'backoff' ? /restarting in (\d+) ms/.exec(detail ?? '') : null;
    if (m) delayMs = Number(m[1]);
  };
  supervisor.on('exit', onExit);
  supervisor.on('state', onState);
  const pid = p.pid as number;
  // The CPU this process used from its spawn to now: what one start costs (and a little running).
  const cpuS = (parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.cpuTicks ?? Number.NaN) / CLOCK_TICKS_PER_S;
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  while (marks.running === undefined) {
    if (p.state === 'failed') throw new Error(`${p.name} went FAILED: ${p.status().detail}`);
    await sleep(5);
  }
  supervisor.off('exit', onExit);
  supervisor.off('state', onState);
  return { exitMs: (marks.exit as number) - t0, respawnMs: (marks.starting as number) - t0, readyMs: marks.running - t0, delayMs, cpuS };
}

/** Until `p` has been running (ready) for `ms`. */
async function runningFor(p: SupervisedProcess, ms: number): Promise<void> {
  let since: number | undefined;
  for (;;) {
    if (p.state === 'running') since ??= performance.now();
    else since = undefined;
    if (since !== undefined && performance.now() - since >= ms) return;
    await sleep(20);
  }
}

/** The trader under `policy`, killed `kills` times, each after `runMs` of running: kill → ready and the delay of each. */
async function killSeries(label: string, policy: Record<string, unknown>, kills: number, runMs: number, hzEnv: NodeJS.ProcessEnv) {
  const root = mkdtempSync(path.join(os.tmpdir(), `dolphin-bench-${label.replace(/[^a-z0-9]+/gi, '-')}-`));
  const s = await supervise({ 'event-trader': { critical: true, ...policy } }, hzEnv, root);
  await s.supervisor.startAll();
  const trader = s.supervisor.get('event-trader') as SupervisedProcess;
  const ready: number[] = [];
  const delays: number[] = [];
  const cpu: number[] = [];
  const spawnToReady: number[] = [];
  try {
    for (let i = 0; i < kills; i++) {
      await runningFor(trader, runMs);
      const k = await killOnce(s.supervisor, trader);
      ready.push(k.readyMs);
      delays.push(k.delayMs);
      cpu.push(k.cpuS);
      spawnToReady.push(k.readyMs - k.respawnMs);
    }
  } finally {
    await s.stop();
  }
  console.log(`  ${label}: delays ${delays.join(', ')} ms; kill → ready ${ready.map((r) => Math.round(r)).join(', ')} ms`);
  return { ready, delays, cpu, spawnToReady };
}
type Series = Awaited<ReturnType<typeof killSeries>>;

/** Rounds of the same series: each kill's median kill → ready over the rounds. */
function medianSeries(rounds: readonly Series[]): Series {
  const first = rounds[0] as Series;
  return {
    ready: first.ready.map((_, i) => percentile(rounds.map((r) => r.ready[i] as number), 50)),
    delays: first.delays,
    cpu: rounds.flatMap((r) => r.cpu),
    spawnToReady: rounds.flatMap((r) => r.spawnToReady),
  };
}

const childSpec = process.argv.indexOf('--crash-loop');
if (childSpec >= 0) {
  await crashLoopChild(JSON.parse(process.argv[childSpec + 1] as string) as LoopSpec);
  process.exit(0);
}

console.log(`recovery benchmark (${quick ? 'quick' : 'full'})`);
// The machine is shared: its load says how much of the figures is waiting for a CPU.
const loadAtStart = os.loadavg()[0] as number;
const port = await freePort();
const member = await startMember({ port, clusterName: `bench-recovery-${port}`, heapMb: 256 });
const hzEnv = { HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: member.clusterName };

// Crash loops first, all side by side (each in its own process), nothing else running.
// The trader's metrics port is held here, so each of its starts fails once it has connected.
const taken = net.createServer();
await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
const takenPort = (taken.address() as net.AddressInfo).port;
const crashingTrader = (policy: Record<string, unknown>) => ({ 'event-trader': { critical: true, metricsPort: takenPort, ...policy } });
const loop = (registry: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => crashLoop({ registry, seconds: CRASH_LOOP_S, env });
console.log(`  crash loops for ${CRASH_LOOP_S} s …`);
const [fixtureDefault, fixtureCritical, fixtureOld, fixtureEvery2s, traderCritical, traderOld, traderEvery2s, ...fixtureCaps] = await Promise.all([
  loop(crasher({})),
  loop(crasher({ critical: true })),
  loop(crasher({ restart: OLD_POLICY })),
  loop(crasher(EVERY_2S)),
  loop(crashingTrader({}), hzEnv),
  loop(crashingTrader({ restart: OLD_POLICY }), hzEnv),
  loop(crashingTrader(EVERY_2S), hzEnv),
  ...CAPS.map((maxMs) => loop(crasher({ critical: true, restart: { ...OLD_POLICY, maxMs } }))),
]);
await new Promise((r) => taken.close(r));
const say = (what: string, r: LoopResult) => console.log(`    ${what}: ${r.starts} starts, ${round(r.cpuS, 2)} CPU s${r.failedAfterMs >= 0 ? `, FAILED after ${r.failedAfterMs} ms` : ''}`);
say('crash-at-start, default policy', fixtureDefault);
say('crash-at-start, critical entry', fixtureCritical);
say('crash-at-start, old policy', fixtureOld);
CAPS.forEach((c, i) => say(`crash-at-start, cap ${c} ms`, fixtureCaps[i] as LoopResult));
say('crash-at-start, every 2 s', fixtureEvery2s);
say('crashing trader, critical entry', traderCritical);
say('crashing trader, old policy', traderOld);
say('crashing trader, every 2 s', traderEvery2s);

// Bursts of kills: the policy of a critical entry, each candidate cap, the old policy.
console.log(`  bursts of ${BURST_KILLS} kills, each 0.5 s after ready, ${BURST_ROUNDS} round(s):`);
const burstPolicies: Array<[string, Record<string, unknown>]> = [
  ['critical entry', {}],
  ...CAPS.map((maxMs): [string, Record<string, unknown>] => [`cap ${maxMs} ms`, { restart: { ...OLD_POLICY, maxMs } }]),
  ['old policy', { restart: OLD_POLICY }],
];
const burstRounds = burstPolicies.map((): Series[] => []);
for (let r = 0; r < BURST_ROUNDS; r++) {
  for (const [i, [label, policy]] of burstPolicies.entries()) burstRounds[i]?.push(await killSeries(label, policy, BURST_KILLS, 500, hzEnv));
}
const [burstCritical, ...burstRest] = burstRounds.map(medianSeries) as [Series, ...Series[]];
const burstCaps = burstRest.slice(0, CAPS.length);
const burstOld = burstRest.at(-1) as Series;

// Kills spread out, as in a chaos run: three traders side by side, a third of a period apart.
console.log(`  ${SPACED_KILLS} kills, each after ${SPACED_RUN_MS / 1000} s of running:`);
const [spacedCritical, spacedLateReset, spacedOld] = await Promise.all([
  killSeries('spaced, critical entry', {}, SPACED_KILLS, SPACED_RUN_MS, hzEnv),
  sleep(SPACED_RUN_MS / 3).then(() => killSeries('spaced, critical entry reset after 60 s', { restart: { resetAfterMs: OLD_POLICY.resetAfterMs } }, SPACED_KILLS, SPACED_RUN_MS, hzEnv)),
  sleep((2 * SPACED_RUN_MS) / 3).then(() => killSeries('spaced, old policy', { restart: OLD_POLICY }, SPACED_KILLS, SPACED_RUN_MS, hzEnv)),
]);

// Single kills of a trader that ran stably: the initial delay each time.
const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-recovery-'));
const { supervisor, stop } = await supervise({
  'event-trader': { critical: true, restart: { initialMs: 100, resetAfterMs: 1_000 }, startLimit: { burst: 10_000, intervalMs: 60_000 } },
  'meta-health': {},
}, { ...hzEnv, DOLPHIN__metaHealth__recoveryVia: '"supervisor"' }, root);
await supervisor.startAll();

const conn = await connect({ settings: { clusterName: member.clusterName, members: [member.address], connectTimeoutMs: 2_000, operationTimeoutMs: 10_000, reconnect: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 } }, logger, firstConnectTimeoutMs: 30_000 });
const cycles: number[] = [];
const health = watchMap(conn, await openMap(conn, MapNames.META_HEALTH, metaHealthSchema), {
  key: Keys.META_HEALTH_LATEST,
  onUpdate: (u) => { const c = (u.value as { cycle_ms?: number }).cycle_ms; if (typeof c === 'number') cycles.push(c); },
});
await health.ready;

const trader = supervisor.get('event-trader') as SupervisedProcess;
const stages = { detected: [] as number[], restarted: [] as number[], ready: [] as number[] };
for (let i = 0; i < KILLS; i++) {
  while (trader.state !== 'running' || (trader.status().uptimeS ?? 0) < 2) await sleep(50);
  const k = await killOnce(supervisor, trader);
  stages.detected.push(k.exitMs);
  stages.restarted.push(k.respawnMs);
  stages.ready.push(k.readyMs);
  console.log(`  kill ${i + 1}: exit seen ${round(k.exitMs, 1)} ms, respawned ${Math.round(k.respawnMs)} ms, ready ${Math.round(k.readyMs)} ms`);
}
console.log(`  health cycle: p50 ${percentile(cycles, 50)} ms, p99 ${percentile(cycles, 99)} ms over ${cycles.length} cycles`);

await health.close();
await conn.shutdown();
await stop();
await member.stop(15_000);

const max = (xs: readonly number[]) => round(Math.max(...xs), 1);
const perMin = (x: number) => round((x * 60) / CRASH_LOOP_S, 2);
const capFigures: Record<string, number | string> = {};
CAPS.forEach((c, i) => {
  const loopR = fixtureCaps[i] as LoopResult;
  const burst = burstCaps[i] as Series;
  capFigures[`cap_${c}_burst_delays_ms`] = burst.delays.join(',');
  capFigures[`cap_${c}_burst_kill_to_ready_ms_max_first3`] = max(burst.ready.slice(0, 3));
  capFigures[`cap_${c}_burst_kill_to_ready_ms_max`] = max(burst.ready);
  capFigures[`cap_${c}_crashloop_starts_60s`] = loopR.starts;
  capFigures[`cap_${c}_crashloop_cpu_s`] = round(loopR.cpuS, 2);
  capFigures[`cap_${c}_crashloop_failed_after_ms`] = loopR.failedAfterMs;
});
const traderStartCpu = [...burstCritical.cpu, ...burstOld.cpu, ...burstCaps.flatMap((b) => b.cpu)];
const spawnToReady = [burstCritical, burstOld, ...burstCaps, spacedCritical, spacedLateReset, spacedOld].flatMap((b) => b.spawnToReady);

const file = writeResult('recovery', quick, {
  metrics: {
    kill_to_ready_ms_p50: round(percentile(stages.ready, 50), 1),
    kill_to_ready_ms_p99: round(percentile(stages.ready, 99), 1),
    health_cycle_ms_p50: round(percentile(cycles, 50), 1),
    // A quick run watches for less than 60 s; it still counts every start of the loop.
    starts_during_crashloop_60s: fixtureDefault.starts,
    starts_during_crashloop_60s_critical: fixtureCritical.starts,
    // A critical entry (the trader) killed BURST_KILLS times in a row, 0.5 s after each ready.
    burst_kill_to_ready_ms_max_first3: max(burstCritical.ready.slice(0, 3)),
    burst_kill_to_ready_ms_max: max(burstCritical.ready),
    burst_restart_delay_ms_max: Math.max(...burstCritical.delays),
    // Killed after each 13 s of running.
    spaced_kill_to_ready_ms_max: max(spacedCritical.ready),
    spaced_restart_delay_ms_max: Math.max(...spacedCritical.delays),
    // The real trader crashing at start (after it connected), as a critical entry.
    crashloop_cpu_s_per_min_critical: perMin(traderCritical.cpuS),
    crashloop_starts_per_min_critical: traderCritical.starts,
    crashloop_failed_after_ms_critical: traderCritical.failedAfterMs,
    trader_start_cpu_s_p50: round(percentile(traderStartCpu, 50), 2),
    // Spawn → ready of the trader over every kill of the bursts and spaced series: kill → ready less the delay.
    trader_spawn_to_ready_ms_p50: round(percentile(spawnToReady, 50), 1),
    trader_spawn_to_ready_ms_p90: round(percentile(spawnToReady, 90), 1),
    burst_rounds: BURST_ROUNDS,
    kill_to_exit_seen_ms_p50: round(percentile(stages.detected, 50), 2),
    kill_to_respawn_ms_p50: round(percentile(stages.restarted, 50), 1),
    kill_to_respawn_ms_p99: round(percentile(stages.restarted, 99), 1),
    health_cycle_ms_p99: round(percentile(cycles, 99), 1),
    kills: KILLS,
    health_cycles: cycles.length,
    load_avg_1m_at_start: round(loadAtStart, 2),
    load_avg_1m_at_end: round(os.loadavg()[0] as number, 2),
  },
  baseline: {
    what: `measured in the same run: a service that crashes at start, watched ${CRASH_LOOP_S} s, started again every 2 s with no start limit (the system Dolphin replaces) against Dolphin's policies; `
      + `the policy every entry had before (100 ms doubling to 30 s, reset after 60 s healthy) for the trader's bursts, spaced kills and crash loop; candidate caps of a critical entry's backoff (cap_*)`,
    starts_every_2s_no_limit: fixtureEvery2s.starts,
    ratio_starts_dolphin_over_baseline: round(fixtureDefault.starts / Math.max(1, fixtureEvery2s.starts), 3),
    burst_delays_ms_critical: burstCritical.delays.join(','),
    burst_delays_ms_old: burstOld.delays.join(','),
    burst_kill_to_ready_ms_max_first3_old: max(burstOld.ready.slice(0, 3)),
    burst_kill_to_ready_ms_max_old: max(burstOld.ready),
    spaced_delays_ms_critical: spacedCritical.delays.join(','),
    spaced_delays_ms_old: spacedOld.delays.join(','),
    spaced_delays_ms_critical_reset_after_60s: spacedLateReset.delays.join(','),
    spaced_kill_to_ready_ms_max_critical_reset_after_60s: max(spacedLateReset.ready),
    spaced_kill_to_ready_ms_max_old: max(spacedOld.ready),
    ratio_spaced_kill_to_ready_critical_over_old: round(Math.max(...spacedCritical.ready) / Math.max(...spacedOld.ready), 3),
    crashloop_cpu_s_per_min_old: perMin(traderOld.cpuS),
    crashloop_starts_per_min_old: traderOld.starts,
    crashloop_failed_after_ms_old: traderOld.failedAfterMs,
    crashloop_cpu_s_per_min_every_2s: perMin(traderEvery2s.cpuS),
    crashloop_starts_per_min_every_2s: traderEvery2s.starts,
    ratio_crashloop_cpu_critical_over_every_2s: round(traderCritical.cpuS / Math.max(1e-9, traderEvery2s.cpuS), 3),
    fixture_crashloop_cpu_s_critical: round(fixtureCritical.cpuS, 2),
    fixture_crashloop_cpu_s_old: round(fixtureOld.cpuS, 2),
    fixture_crashloop_cpu_s_every_2s: round(fixtureEvery2s.cpuS, 2),
    fixture_crashloop_failed_after_ms_critical: fixtureCritical.failedAfterMs,
    fixture_crashloop_failed_after_ms_old: fixtureOld.failedAfterMs,
    ...capFigures,
  },
});
console.log(`wrote ${file}`);
