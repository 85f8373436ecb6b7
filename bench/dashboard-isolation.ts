// Does the dashboard disturb trading? The trading path (scan file → bridge → trader → decision,
// each its own process, as in bench/e2e.ts) at 100 scans/s in three conditions, interleaved
// round by round so that the machine's drift falls on all three alike:
//   without      no dashboard process at all (the baseline, same run);
//   with 50      the dashboard running, 50 browsers' event streams open and read;
//   stopped      the same dashboard frozen with SIGSTOP, its 50 streams still open: its
//                Hazelcast connection unread, its listeners' events piling up at the member.
// Latency is rename → decision from the stamps the trader writes with its state.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, Keys, MapNames, REPO_ROOT, traderStateSchema } from '@dolphin/core';
import { freePort, openMap, watchMap } from '@dolphin/hz';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { runProducer } from './lib/producer.ts';
import { startTradingMember } from './lib/trading-member.ts';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const RATE = 100;
const SECONDS = quick ? 15 : 60;
const ROUNDS = quick ? 1 : 3;
const CLIENTS = 50;
const logger = createLogger({ service: 'bench-dashboard', level: 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { member, conn, keyFile } = await startTradingMember('dashboard', quick, logger);

const baseEnv = (root: string) => ({
  ...process.env, ...SERVICE_ENV, HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: member.clusterName, DOLPHIN_LOG_LEVEL: 'warn',
  DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN_STATE_DIR: path.join(root, 'state'), DOLPHIN__scans__dir: JSON.stringify(path.join(root, 'scans')), DOLPHIN__security__keyFile: keyFile,
});

function startService(name: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, `services/${name}/src/main.ts`)], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve(child));
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await gone;
}

/** The dashboard and `CLIENTS` event streams read by this process; `bytes` counts what they got. */
async function startDashboard() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-dash-'));
  const httpPort = await freePort();
  const nobody = await freePort();
  const child = await startService('dashboard', {
    ...baseEnv(root), DOLPHIN__dashboard__port: String(httpPort), DOLPHIN__dashboard__jobsUrl: JSON.stringify(`http://127.0.0.1:${nobody}`),
    DOLPHIN_SUPERVISOR_RUN_FILE: path.join(root, 'no-supervisor.json'),
  });
  const streams: Array<{ destroy(): void }> = [];
  let bytes = 0;
  let opened = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const req = request({ host: '127.0.0.1', port: httpPort, path: '/events' }, (res) => {
      opened += res.statusCode === 200 ? 1 : 0;
      res.on('data', (b: Buffer) => { bytes += b.length; });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    streams.push(req);
  }
  while (opened < CLIENTS) await sleep(20);
  return {
    child, url: `http://127.0.0.1:${httpPort}`, get bytes() { return bytes; },
    async stop() {
      for (const s of streams) s.destroy();
      await stopChild(child);
    },
  };
}

type Condition = 'without' | 'with_50_clients' | 'dashboard_stopped';
const samples: Record<Condition, number[]> = { without: [], with_50_clients: [], dashboard_stopped: [] };
const missing: Record<Condition, number> = { without: 0, with_50_clients: 0, dashboard_stopped: 0 };

/** Fresh bridge and trader, `SECONDS` of scans at `RATE`, every decision's rename → decision latency. */
async function phase(cond: Condition, record = true): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-dash-'));
  const env = baseEnv(root);
  const bridge = await startService('scan-bridge', env);
  const trader = await startService('event-trader', env);
  const state = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
  const decided = new Map<number, number>();
  const w = watchMap(conn, state, { key: Keys.STATE_LATEST, onUpdate: (u) => { const d = (u.value.stamps as Record<string, number> | undefined)?.decided_ns; if (d) decided.set(u.value.last_scan_number, d); } });
  await w.ready;
  const byFile = await runProducer(path.join(root, 'scans'), RATE, RATE * SECONDS);
  const renamed = new Map([...byFile].map(([f, ns]) => [Number(/scan_(\d+)_/.exec(f)?.[1]), ns]));
  const deadline = Date.now() + 15_000;
  while (decided.size < renamed.size && Date.now() < deadline) await sleep(20);
  await w.close();
  await stopChild(trader);
  await stopChild(bridge);
  const lat: number[] = [];
  if (!record) return console.log(`  warm-up            ${renamed.size} scans`);
  for (const [n, r] of renamed) {
    const d = decided.get(n);
    if (d) lat.push((d - r) / 1e6);
    else missing[cond]++;
  }
  samples[cond].push(...lat);
  console.log(`  ${cond.padEnd(18)} n=${lat.length} p50 ${percentile(lat, 50).toFixed(3)} ms p99 ${percentile(lat, 99).toFixed(3)} ms`);
}

console.log(`dashboard isolation (${quick ? 'quick' : 'full'}): ${ROUNDS} round(s) of ${SECONDS} s at ${RATE} scans/s per condition`);
let recovered = 1;
let streamedBytes = 0;
// A first run warms the member's and the services' code paths; it counts for none of them.
await phase('without', false);
for (let round = 1; round <= ROUNDS; round++) {
  console.log(`round ${round}`);
  // Alternate which comes first: the dashboard is started before `with` and stopped after `stopped`.
  if (round % 2 === 1) await phase('without');
  const dash = await startDashboard();
  await phase('with_50_clients');
  const before = dash.bytes;
  process.kill(dash.child.pid as number, 'SIGSTOP');
  await phase('dashboard_stopped');
  process.kill(dash.child.pid as number, 'SIGCONT');
  // Thawed, it serves again: its health answers and its streams move.
  const ok = await fetch(`${dash.url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.ok, () => false);
  await sleep(1_000);
  if (!ok || dash.bytes <= before) recovered = 0;
  streamedBytes += dash.bytes;
  await dash.stop();
  if (round % 2 === 0) await phase('without');
}

const p = (c: Condition, q: number) => round(percentile(samples[c], q), 3);
const file = writeResult('dashboard-isolation', quick, {
  metrics: {
    e2e_p99_ms_without_dashboard: p('without', 99),
    e2e_p99_ms_with_50_clients: p('with_50_clients', 99),
    e2e_p99_ms_dashboard_stopped: p('dashboard_stopped', 99),
    e2e_p50_ms_without_dashboard: p('without', 50),
    e2e_p50_ms_with_50_clients: p('with_50_clients', 50),
    e2e_p50_ms_dashboard_stopped: p('dashboard_stopped', 50),
    undecided_scans: missing.without + missing.with_50_clients + missing.dashboard_stopped,
    dashboard_serving_after_sigcont: recovered,
    streamed_mb_to_50_clients: round(streamedBytes / 1e6, 1),
  },
  baseline: {
    what: `the same path with no dashboard process, interleaved with the other two conditions round by round (${ROUNDS} × ${SECONDS} s at ${RATE} scans/s each, which comes first alternating, after an unrecorded warm-up), same member, same run`,
    ratio_p99_with_50_clients: round(percentile(samples.with_50_clients, 99) / percentile(samples.without, 99), 3),
    ratio_p99_dashboard_stopped: round(percentile(samples.dashboard_stopped, 99) / percentile(samples.without, 99), 3),
    ratio_p50_with_50_clients: round(percentile(samples.with_50_clients, 50) / percentile(samples.without, 50), 3),
    ratio_p50_dashboard_stopped: round(percentile(samples.dashboard_stopped, 50) / percentile(samples.without, 50), 3),
  },
});
console.log(`wrote ${file}`);
await conn.shutdown();
await member.stop(15_000);
