// Chaos: Dolphin under a real supervisor (member, indicators, safety, scan bridge, event trader,
// meta-health, as `dolphin up` runs them) while scans arrive at a fixed rate and a seeded hand
// SIGKILLs a random process every few seconds — the member included, which takes the map and the
// scan history with it. Then the ledger against a backtest over the very scan files, with the
// inputs the ledger recorded: nothing lost, nothing decided twice, the same fills.
//
//   ./dolphin bench chaos [--quick] [--seed N] [--minutes M] [--rate R]
//
// The strategy trades often (quick exits, no cooldown after a stop-loss), so that equality with
// the backtest is about many decisions, not a handful.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, DEFAULT_SERVICES, dolphinConfigSchema, Keys, MapNames, REPO_ROOT, seededRandom, serviceRegistrySchema, traderStateSchema } from '@dolphin/core';
import { Ledger } from '@dolphin/ledger';
import { connect, freePort, openMap, openSeal } from '@dolphin/hz';
import { JobsDb } from '@dolphin/jobs-api';
import { serveControl, Supervisor, writeRunFile, type ProcessState } from '@dolphin/supervisor';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const arg = (flag: string, dflt: number) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : dflt);
const SEED = arg('--seed', 15);
const MINUTES = arg('--minutes', quick ? 1.5 : 8);
const RATE = arg('--rate', 5);
/** A kill every 4–16 s (37 in 8 minutes on average, as in the run that found the faults). */
const KILL_MIN_MS = 4_000;
const KILL_MAX_MS = 16_000;
const VICTIMS = ['member', 'indicators', 'safety', 'scan-bridge', 'event-trader', 'meta-health'] as const;
const STRATEGY = { takeProfitPct: 0.0015, stopLossPct: 0.001, cooldownAfterStopMs: 0 };
const logger = createLogger({ service: 'bench-chaos', level: 'error' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => console.log(`chaos: ${line}`);

const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-chaos-'));
const stateDir = path.join(root, 'state');
const scans = path.join(root, 'scans');
const port = await freePort();
const clusterName = `chaos-${port}`;
const members = [`127.0.0.1:${port}`];
const runFile = path.join(root, 'run', 'supervisor.json');
const config = dolphinConfigSchema.parse({
  stateDir, member: { port, heapMb: 384 }, hazelcast: { clusterName, members }, supervisor: { sampleMs: 1_000 },
});
const registry = serviceRegistrySchema.parse(Object.fromEntries(VICTIMS.map((n) => [n, DEFAULT_SERVICES[n]])));
const seal = openSeal(stateDir, undefined, { create: true });
const supervisor = new Supervisor({
  registry, config, logDir: path.join(root, 'logs'), logger,
  env: {
    PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_STATE_DIR: stateDir, DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(root, 'cfg-')),
    DOLPHIN_LOG_LEVEL: 'warn', DOLPHIN_SUPERVISOR_RUN_FILE: runFile, HZ_MEMBERS: members.join(','), HZ_CLUSTER_NAME: clusterName,
    DOLPHIN__member__port: String(port), DOLPHIN__scans__dir: scans, DOLPHIN__trader__strategy: JSON.stringify(STRATEGY),
    DOLPHIN__metaHealth__recoveryVia: '"supervisor"',
  },
});
const control = await serveControl(supervisor, { port: 0, logger, onShutdown: () => undefined });
writeRunFile(runFile, { pid: process.pid, port: control.port, token: control.token, startedAt: new Date().toISOString(), logDir: path.join(root, 'logs') });

// When each process last became ready, and how long the trader was not running.
const readyAt = new Map<string, number>();
let traderDownSince: number | undefined;
let traderDownMs = 0;
supervisor.on('state', (name: string, to: ProcessState) => {
  const now = performance.now();
  if (to === 'running') readyAt.set(name, now);
  if (name !== 'event-trader') return;
  if (to !== 'running' && traderDownSince === undefined) traderDownSince = now;
  if (to === 'running' && traderDownSince !== undefined) {
    traderDownMs += now - traderDownSince;
    traderDownSince = undefined;
  }
});

say(`${MINUTES} min at ${RATE} scans/s, seed ${SEED}; starting ${VICTIMS.join(', ')}`);
await supervisor.startAll();
const notRunning = supervisor.processes.filter((p) => p.state !== 'running').map((p) => p.name);
if (notRunning.length > 0) throw new Error(`not running after start: ${notRunning.join(', ')}`);

const count = Math.round(MINUTES * 60 * RATE);
const producer = spawn(process.execPath, [path.join(REPO_ROOT, 'cli/src/main.ts'), 'produce', '--rate', String(RATE), '--count', String(count), '--dir', scans, '--seed', String(SEED)], { stdio: 'ignore' });
const produced = new Promise<void>((resolve) => producer.once('exit', () => resolve()));
const t0 = performance.now();

// The hand: a random process of the registry, SIGKILLed with its group, every 4–16 s.
const random = seededRandom(SEED);
const kills: Array<{ name: string; at: number; readyMs?: number }> = [];
let producing = true;
void produced.then(() => { producing = false; });
while (producing) {
  await Promise.race([sleep(KILL_MIN_MS + random() * (KILL_MAX_MS - KILL_MIN_MS)), produced]);
  if (!producing) break;
  const name = VICTIMS[Math.floor(random() * VICTIMS.length)] as (typeof VICTIMS)[number];
  const p = supervisor.get(name);
  const pid = p?.group;
  if (!p || pid === undefined || p.state !== 'running') continue;
  const at = performance.now();
  try {
    process.kill(-pid, 'SIGKILL');
  } catch { continue; }
  const kill: { name: string; at: number; readyMs?: number } = { name, at };
  kills.push(kill);
  void (async () => {
    while ((readyAt.get(name) ?? 0) < at && performance.now() - at < 60_000) await sleep(20);
    if ((readyAt.get(name) ?? 0) >= at) kill.readyMs = (readyAt.get(name) as number) - at;
  })();
}
const runMs = performance.now() - t0;
say(`${count} scans written, ${kills.length} kills (${VICTIMS.map((v) => `${v} ${kills.filter((k) => k.name === v).length}`).join(', ')})`);

// Every scan decided? Wait for the trader to reach the last one (it may be catching up).
const conn = await connect({ settings: { ...config.hazelcast, members }, logger, firstConnectTimeoutMs: 60_000, seal });
const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
const deadline = Date.now() + 180_000;
let last = 0;
while (Date.now() < deadline) {
  last = (await stateMap.get(Keys.STATE_LATEST).catch(() => undefined))?.last_scan_number ?? last;
  if (last >= count) break;
  await sleep(500);
}
await sleep(1_000); // the last readiness waits settle
await conn.shutdown();
const failed = supervisor.processes.filter((p) => p.state === 'failed').map((p) => p.name);
await supervisor.stopAll();
await control.close();
if (traderDownSince !== undefined) traderDownMs += performance.now() - traderDownSince;

const ledgerFile = path.join(stateDir, 'event-trader.db');
const ledger = new Ledger(ledgerFile);
const tally = ledger.tally();
const live = ledger.fills();
const gaps = ledger.gaps();
ledger.close();

// The backtest over the same files, with the inputs the ledger recorded.
const configs = mkdtempSync(path.join(root, 'bt-cfg-'));
writeFileSync(path.join(configs, 'chaos.json'), JSON.stringify({ scans, inputs: { ledger: ledgerFile }, models: [{ signature: 'live', strategy: STRATEGY }] }));
const dates = readdirSync(scans).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
const refState = mkdtempSync(path.join(root, 'bt-state-'));
const out: string[] = [];
const cli = spawn(path.join(REPO_ROOT, 'dolphin'), ['backtest', '--config', 'chaos.json', '--dates', dates.join(','), '--json'], {
  env: { PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN_CONFIG_DIR: configs, DOLPHIN_STATE_DIR: refState, DOLPHIN__jobs__configsDir: configs },
  stdio: ['ignore', 'pipe', 'inherit'],
});
cli.stdout.on('data', (b: Buffer) => out.push(b.toString()));
const code = await new Promise<number | null>((r) => cli.once('exit', r));
if (code !== 0) throw new Error(`dolphin backtest exited ${code}: ${out.join('')}`);
const { job_id: jobId } = JSON.parse(out.join('')) as { job_id: string };
const db = new JobsDb(path.join(refState, 'jobs.db'));
const backtest = db.results({ jobId }).filter((r) => r.action !== 'no_trade');
db.close();
const asRows = backtest.map((r) => `${r.scan_number}|${r.action === 'sell' ? 'SELL' : 'BUY'}|${r.reason}|${r.amount}|${r.price}|${r.realized}`);
const liveRows = live.map((f) => `${f.scan_number}|${f.side}|${f.reason}|${f.quantity}|${f.price}|${f.realized}`);
const equal = asRows.length === liveRows.length && asRows.every((r, i) => r === liveRows[i]);
const firstDiff = asRows.findIndex((r, i) => r !== liveRows[i]);
const capital = live.at(-1)?.capital_after;
const btCapital = backtest.at(-1)?.cash;

const readies = kills.flatMap((k) => (k.readyMs === undefined ? [] : [k.readyMs]));
const metrics = {
  scans_written: count,
  scans_decided: tally.decided,
  scans_missed_recorded: tally.missed,
  decisions_lost: Math.max(0, count - tally.decided),
  decisions_doubled: Math.max(0, tally.decided - count) + (liveRows.length - new Set(liveRows).size),
  kills: kills.length,
  kills_member: kills.filter((k) => k.name === 'member').length,
  kills_trader: kills.filter((k) => k.name === 'event-trader').length,
  kill_to_ready_ms_p50: round(percentile(readies, 50), 0),
  kill_to_ready_ms_max: round(Math.max(...readies), 0),
  kills_not_ready: kills.length - readies.length,
  trader_down_share: round(traderDownMs / runMs, 4),
  processes_failed: failed.length,
  fills_live: live.length,
  fills_equal_backtest: equal ? 1 : 0,
};
say(`decided ${tally.decided}/${count} (missed ${tally.missed} in ${gaps.length} gaps), fills ${live.length} live / ${backtest.length} backtest, equal: ${equal}${equal ? '' : ` (first difference at ${firstDiff}: live ${liveRows[firstDiff]} / backtest ${asRows[firstDiff]})`}`);
say(`kill → ready p50 ${metrics.kill_to_ready_ms_p50} ms, max ${metrics.kill_to_ready_ms_max} ms; trader down ${(metrics.trader_down_share * 100).toFixed(1)} %; failed: ${failed.join(', ') || 'none'}`);
const file = writeResult('chaos', quick, {
  metrics,
  baseline: {
    what: 'a backtest (dolphin backtest, the same decide()) over the very scan files the run wrote, with the inputs the live ledger recorded: the fills a run with no kills would have made',
    fills_backtest: backtest.length,
    capital_live: capital ?? 0,
    capital_backtest: btCapital ?? 0,
    seed: SEED,
    minutes: MINUTES,
    rate: RATE,
  },
});
say(`wrote ${file}`);
rmSync(root, { recursive: true, force: true });
process.exit(0);
