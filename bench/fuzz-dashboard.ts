// Can a request crash the dashboard, and what does refusing bad ones cost? Random requests
// (services/dashboard/test/fuzz-requests.ts: broken percent-escapes, unicode and raw bytes in the
// target, ?token=, the cookie and Authorization; the token now and then) sent over raw sockets,
// CONCURRENCY at a time, to the real dashboard process (services/dashboard/src/main.ts under
// service-kit, a token configured, no member: it runs without one). A process that exits is a
// crash: counted, and started again so the run goes on. Baseline: the same number of well-formed
// requests with the token (page, assets, snapshot, health), interleaved round by round.
//   --quick     2 rounds, the first of 4 s (full: 8, every other one of 15 s)
//   --seed N    the first round's seed (each round adds its number); printed and recorded
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { REPO_ROOT } from '@dolphin/core';
import { freePort } from '@dolphin/hz';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { carriesToken, fuzzRequest, responseKind, type FuzzRequest } from '../services/dashboard/test/fuzz-requests.ts';
import { rawRequest, send } from '../services/dashboard/test/raw-http.ts';
import { isQuick, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const ROUNDS = quick ? 2 : 8;
const FUZZ_SECONDS = quick ? 4 : 15;
const CONCURRENCY = 16;
const BATCH = 2_000;
const seedArg = process.argv.indexOf('--seed');
const SEED = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 20_260_415;
const TOKEN = 'fuzz-dashboard-bench-token-0123';

const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-fuzz-dash-'));
// The token in a file only its owner reads, as production gives it.
const tokenFile = path.join(root, 'dashboard.token');
writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
const httpPort = await freePort();
// Nothing listens here: the dashboard runs without its member, as it must.
const noMember = await freePort();
const env = {
  ...process.env, ...SERVICE_ENV, DOLPHIN_LOG_LEVEL: 'error', HZ_MEMBERS: `127.0.0.1:${noMember}`,
  DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN_STATE_DIR: path.join(root, 'state'),
  DOLPHIN_SUPERVISOR_RUN_FILE: path.join(root, 'no-supervisor.json'),
  DOLPHIN__dashboard__port: String(httpPort), DOLPHIN__dashboard__tokenFile: tokenFile,
  DOLPHIN__dashboard__jobsUrl: JSON.stringify(`http://127.0.0.1:${noMember}`),
};

let crashes = 0;
let dashboard: ChildProcess | undefined;
let stopping = false;

/** Starts the dashboard and resolves once it says it is ready; an exit after that, while the bench runs, is a crash. */
function startDashboard(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, 'services/dashboard/src/main.ts')], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    dashboard = child;
    let ready = false;
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') {
        ready = true;
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      if (!ready) return reject(new Error(`the dashboard exited (${code ?? signal}) before it was ready`));
      if (stopping) return;
      crashes++;
      console.log(`  the dashboard exited (${code ?? signal}) — crash ${crashes}; starting it again`);
      restarting = startDashboard();
    });
  });
}
let restarting: Promise<void> = Promise.resolve();

/** The dashboard's resident memory; NaN while it is being started again after a crash. */
const rssMb = () => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${dashboard?.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

interface Tally {
  requests: number;
  kinds: Map<string, number>;
  status5xx: number;
  malformed: number;
  unauthorized: number;
  ms: number;
  examples: string[];
}
const tally = (): Tally => ({ requests: 0, kinds: new Map(), status5xx: 0, malformed: 0, unauthorized: 0, ms: 0, examples: [] });

/** Sends each request, CONCURRENCY at a time, until `until()` says stop; `next()` gives the requests. */
async function drive(t: Tally, next: () => FuzzRequest, until: () => boolean): Promise<void> {
  const start = performance.now();
  const note = (what: string, r: FuzzRequest) => {
    if (t.examples.length < 10) t.examples.push(`${what}: ${r.method} ${JSON.stringify(r.target.toString('latin1'))} ${JSON.stringify(r.headers.map(([k, v]) => `${k}: ${v.toString('latin1')}`))}`);
  };
  const worker = async () => {
    while (!until()) {
      const r = next();
      const raw = rawRequest(r);
      t.requests++;
      try {
        await restarting;
        const res = await send(httpPort, raw, { method: r.method, timeoutMs: 10_000 });
        const kind = responseKind(res);
        t.kinds.set(kind, (t.kinds.get(kind) ?? 0) + 1);
        if (res.status >= 500) {
          t.status5xx++;
          note(`${res.status}`, r);
        }
        if (res.status < 400 && !carriesToken(raw, TOKEN) && !r.target.includes('/healthz')) {
          t.unauthorized++;
          note(`${res.status} without the token`, r);
        }
      } catch (err) {
        t.malformed++;
        note((err as Error).message, r);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  t.ms += performance.now() - start;
}

/** Random requests, generated in seeded batches, until `seconds` have passed or `count` were sent; how many were sent. */
async function fuzzPhase(t: Tally, seed: number, stop: { seconds: number } | { count: number }): Promise<number> {
  const arb = fuzzRequest(TOKEN);
  let batch: FuzzRequest[] = [];
  let batchNo = 0;
  let sent = 0;
  const next = () => {
    if (batch.length === 0) batch = fc.sample(arb, { seed: seed * 1_000 + batchNo++, numRuns: BATCH }).reverse();
    sent++;
    return batch.pop() as FuzzRequest;
  };
  const deadline = 'seconds' in stop ? performance.now() + stop.seconds * 1_000 : Number.POSITIVE_INFINITY;
  await drive(t, next, () => ('count' in stop ? sent >= stop.count : performance.now() >= deadline));
  return sent;
}

const WELL_FORMED: FuzzRequest[] = [
  { method: 'GET', target: Buffer.from('/api/snapshot'), headers: [['Authorization', Buffer.from(`Bearer ${TOKEN}`)]] },
  { method: 'GET', target: Buffer.from(`/?token=${TOKEN}`), headers: [] },
  { method: 'GET', target: Buffer.from('/assets/app.js'), headers: [['Cookie', Buffer.from(`dolphin_dashboard=${TOKEN}`)]] },
  { method: 'GET', target: Buffer.from('/healthz'), headers: [] },
];

/** Exactly `n` well-formed requests with the token. */
async function baselinePhase(t: Tally, n: number): Promise<void> {
  let sent = 0;
  await drive(t, () => WELL_FORMED[sent++ % WELL_FORMED.length] as FuzzRequest, () => sent >= n);
}

console.log(`fuzz-dashboard (${quick ? 'quick' : 'full'}): ${ROUNDS} round(s) of ${FUZZ_SECONDS} s of random requests, ${CONCURRENCY} connections at a time, seed ${SEED}; the same number of well-formed ones as baseline`);
await startDashboard();
const rssStart = rssMb();
const fuzz = tally();
const base = tally();
let rssMax = rssStart;
// A short unrecorded warm-up of both, so neither pays for the first compilations.
await baselinePhase(tally(), 500);
await fuzzPhase(tally(), SEED - 1, { count: 500 });
let n = 0;
for (let r = 0; r < ROUNDS; r++) {
  // Which comes first alternates, so the machine's drift falls on both alike; the random
  // requests set the count on even rounds, and repeat the last count on odd ones.
  if (r % 2 === 0) {
    n = await fuzzPhase(fuzz, SEED + r, { seconds: FUZZ_SECONDS });
    await baselinePhase(base, n);
  } else {
    await baselinePhase(base, n);
    await fuzzPhase(fuzz, SEED + r, { count: n });
  }
  await restarting;
  rssMax = Math.max(rssMax, rssMb() || 0);
  console.log(`round ${r + 1}: ${n} random and ${n} well-formed requests; so far ${fuzz.status5xx} 5xx, ${fuzz.malformed} malformed or unanswered, ${crashes} crashes; RSS ${round(rssMax, 1)} MB max`);
}
await restarting;
const health = await send(httpPort, rawRequest({ target: '/healthz' })).then((r) => r.status, () => 0);
const alive = dashboard?.exitCode === null && dashboard.signalCode === null;
const rssEnd = rssMb();
stopping = true;
const gone = new Promise((r) => dashboard?.once('exit', r));
dashboard?.kill('SIGTERM');
await gone;
rmSync(root, { recursive: true, force: true });

for (const e of [...fuzz.examples, ...base.examples]) console.log(`  ${e}`);
const k = (kind: string) => fuzz.kinds.get(kind) ?? 0;
const rps = (t: Tally) => round(t.requests / (t.ms / 1_000), 1);
const file = writeResult('fuzz-dashboard', quick, {
  metrics: {
    requests: fuzz.requests,
    crashes,
    status_5xx: fuzz.status5xx,
    malformed_or_unanswered: fuzz.malformed,
    answered_without_token: fuzz.unauthorized,
    status_2xx_3xx: k('200') + k('304'),
    status_400_dashboard: k('400'),
    status_400_node_parser: k('400_node_parser'),
    status_401: k('401'),
    status_404: k('404'),
    status_405: k('405'),
    healthz_after: health === 200 && alive ? 1 : 0,
    requests_per_s: rps(fuzz),
    rss_mb_start: round(rssStart, 1),
    rss_mb_max: round(rssMax, 1),
    rss_mb_end: round(rssEnd, 1),
    seed: SEED,
  },
  baseline: {
    what: `the same number of well-formed requests with the token (GET /api/snapshot with Bearer, /?token=, /assets/app.js with the cookie, /healthz in turn) to the same dashboard process, ${CONCURRENCY} connections at a time, interleaved with the random ones round by round (${ROUNDS} rounds: rounds 1, 3, … send random requests for ${FUZZ_SECONDS} s, then as many well-formed ones; the round after sends that many of each, the well-formed first), same run`,
    requests: base.requests,
    requests_per_s: rps(base),
    status_5xx: base.status5xx,
    malformed_or_unanswered: base.malformed,
    ratio_requests_per_s_random_over_well_formed: round(rps(fuzz) / rps(base), 3),
  },
});
console.log(`random: ${fuzz.requests} requests, ${rps(fuzz)}/s, answers ${JSON.stringify(Object.fromEntries(fuzz.kinds))}; crashes ${crashes}, 5xx ${fuzz.status5xx}, malformed or unanswered ${fuzz.malformed}, answered without the token ${fuzz.unauthorized}`);
console.log(`well-formed: ${base.requests} requests, ${rps(base)}/s; /healthz after: ${health}; RSS ${round(rssStart, 1)} → ${round(rssEnd, 1)} MB (max ${round(rssMax, 1)})`);
console.log(`wrote ${file}`);
