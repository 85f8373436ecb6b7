// The whole trading path, each part in its own process as `dolphin up` runs it (values sealed, as they are): a scan file
// renamed into place → scan bridge → DOLPHIN_FEATURES → the trader's entry listener →
// decide() → ledger → DOLPHIN_STATE_BLUE. Latency from the rename to the decision at 10, 100
// and 1,000 scans/s with the per-hop breakdown (the stamps each process puts on the scan), the
// cost of decide() itself against parsing the scan's JSON (the least any consumer does), and the
// RSS of the bridge and the trader while they run at 100 scans/s.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger, isoMicros, Keys, MapNames, REPO_ROOT, sealPlace, traderStateSchema, ValueSeal, type ScanRecord } from '@dolphin/core';
import { connect, freePort, openMap, watchMap } from '@dolphin/hz';
import { ScanGenerator } from '@dolphin/scanfile';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { decide, initialState, strategyParams } from '@dolphin/strategy';
import { runProducer } from './lib/producer.ts';
import { startTradingMember } from './lib/trading-member.ts';
import { isQuick, percentile, rateLatencyMetrics, round, writeResult } from './lib/result.ts';

const quick = isQuick();
// `--only <rate> [--seconds N] [--dump <csv>]` runs one rate with RSS sampling and writes no
// result (for looking at variance); `--dump` writes every scan's stamps.
const argAfter = (flag: string) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const dumpTo = argAfter('--dump');
const logger = createLogger({ service: 'bench-e2e', level: 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// decide() alone, in this process: ns per scan, against JSON.parse of the same scans.
function decideCost(): { decideNs: number; parseNs: number } {
  const gen = new ScanGenerator({ seed: 5 });
  const params = strategyParams();
  const scans: ScanRecord[] = Array.from({ length: 5_000 }, (_, i) => gen.next(1.8e18 + i * 1e9));
  const texts = scans.map((s) => JSON.stringify(s));
  const safety = { safety: { posture: 'APEX' as const, size_scale: 1, ts: isoMicros(1.8e18) } };
  const rounds = quick ? 10 : 40;
  let state = initialState(params);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    state = initialState(params);
    for (const s of scans) state = decide(state, s, safety, params).state;
  }
  const decideNs = Number(process.hrtime.bigint() - t0) / (rounds * scans.length);
  const t1 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const t of texts) sink += (JSON.parse(t) as ScanRecord).scan_number;
  const parseNs = Number(process.hrtime.bigint() - t1) / (rounds * texts.length);
  if (sink < 0) console.log(state);
  return { decideNs, parseNs };
}

/**
 * What authenticating a scan costs: the bridge seals its JSON once (HMAC-SHA256 over ≈ 2 KB),
 * every reader opens it (the same HMAC and a compare); against JSON.parse of the same text.
 */
function sealCost(): { sealNs: number; openNs: number } {
  const gen = new ScanGenerator({ seed: 6 });
  const seal = new ValueSeal(randomBytes(32));
  const place = sealPlace(MapNames.FEATURES, Keys.LATEST_EIGEN_SCAN);
  const texts = Array.from({ length: 5_000 }, (_, i) => JSON.stringify({ ...gen.next(1.8e18 + i * 1e9), bridge_ts: isoMicros(), file: 'x.arrow' }));
  const rounds = quick ? 10 : 40;
  let sealed: string[] = [];
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) sealed = texts.map((t) => seal.seal(place, t));
  const sealNs = Number(process.hrtime.bigint() - t0) / (rounds * texts.length);
  let ok = 0;
  const t1 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const t of sealed) ok += seal.open(place, t).ok ? 1 : 0;
  const openNs = Number(process.hrtime.bigint() - t1) / (rounds * texts.length);
  if (ok !== rounds * texts.length) throw new Error('a sealed scan did not open');
  return { sealNs, openNs };
}

const cost = decideCost();
console.log(`decide ${cost.decideNs.toFixed(0)} ns/scan, JSON.parse of the scan ${cost.parseNs.toFixed(0)} ns`);
const sealing = sealCost();
console.log(`seal ${sealing.sealNs.toFixed(0)} ns/scan, open ${sealing.openNs.toFixed(0)} ns/scan`);

const { member, settings, conn, keyFile } = await startTradingMember('e2e', quick, logger);

/**
 * The floor under the trading path on this machine: a bare Hazelcast `set` of a scan-sized
 * value to the entry event in a second client (same process, no bridge, no trader, no work),
 * every 10 ms — the hop every scan takes once. Measured on the same member in the same run.
 */
async function putToEventFloor(samples: number): Promise<number[]> {
  const other = await connect({ settings, logger, firstConnectTimeoutMs: 30_000 });
  const writer = await conn.client.getMap<string, string>('bench_floor');
  const reader = await other.client.getMap<string, string>('bench_floor');
  let arrived: (() => void) | undefined;
  let sentAt = 0n;
  const lat: number[] = [];
  await reader.addEntryListener({
    added: () => arrived?.(),
    updated: () => {
      lat.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      arrived?.();
    },
  }, 'k', true);
  const value = JSON.stringify(new ScanGenerator({ seed: 9 }).next(1.8e18));
  for (let i = 0; i < samples + 500; i++) {
    const p = new Promise<void>((r) => { arrived = r; });
    sentAt = process.hrtime.bigint();
    void writer.set('k', `${value} ${i}`);
    await p;
    await sleep(10);
  }
  await writer.destroy();
  await other.shutdown();
  return lat.slice(500); // the first ones warm the listener path
}

interface Services { bridge: ChildProcess; trader: ChildProcess; scanDir: string; bridgeMetricsPort: number; stop(): Promise<void> }

/** The bridge's own view of its memory, from its /metrics (prom-client's default process metrics), in MB. */
async function bridgeMemory(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const [, name, labels, value] of text.matchAll(/^(nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_external_memory_bytes|nodejs_heap_space_size_used_bytes)(\{[^}]*\})?\s+([\d.e+]+)/gm)) {
    const space = /space="([^"]+)"/.exec(labels ?? '')?.[1];
    out[space ? `space_${space}` : (name as string).replace(/^nodejs_|_bytes$/g, '')] = Math.round(Number(value) / 1e5) / 10;
  }
  return out;
}

/** Bridge and trader as processes over a fresh scan folder and state. */
async function startServices(): Promise<Services> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-e2e-'));
  const env = {
    ...process.env, ...SERVICE_ENV, HZ_MEMBERS: member.address, HZ_CLUSTER_NAME: member.clusterName, DOLPHIN_LOG_LEVEL: 'warn',
    DOLPHIN_CONFIG_DIR: path.join(root, 'config'), DOLPHIN_STATE_DIR: path.join(root, 'state'), DOLPHIN__security__keyFile: keyFile,
    DOLPHIN__scans__dir: JSON.stringify(path.join(root, 'scans')),
  };
  const bridgeMetricsPort = await freePort();
  const start = (name: string, extra: Record<string, string> = {}) => new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, `services/${name}/src/main.ts`)], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve(child));
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
  const bridge = await start('scan-bridge', { DOLPHIN__metrics__port: String(bridgeMetricsPort) });
  const trader = await start('event-trader');
  return {
    bridge, trader, scanDir: path.join(root, 'scans'), bridgeMetricsPort,
    async stop() {
      for (const c of [trader, bridge]) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    },
  };
}

/** Scan number → rename epoch ns (the producer numbers its scans 1, 2, …). */
async function produce(dir: string, rate: number, count: number): Promise<Map<number, number>> {
  const byFile = await runProducer(dir, rate, count);
  return new Map([...byFile].map(([f, ns]) => [Number(/scan_(\d+)_/.exec(f)?.[1]), ns]));
}

/** RSS in MB from /proc: whole, and its anonymous part (heap, malloc) — the rest is mapped code. */
const rssMb = (pid: number | undefined, field: 'VmRSS' | 'RssAnon' = 'VmRSS') => {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
};

/** CPU seconds (user + system) a process has used so far. */
const cpuSeconds = (pid: number | undefined) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks of 1/100 s
  } catch {
    return Number.NaN;
  }
};

type Stamps = Record<string, number>;

async function atRate(rate: number, seconds: number, sampleRss = false) {
  const svc = await startServices();
  const stateMap = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
  const decided = new Map<number, Stamps>();
  const w = watchMap(conn, stateMap, { key: Keys.STATE_LATEST, onUpdate: (u) => { decided.set(u.value.last_scan_number, u.value.stamps as Stamps); } });
  await w.ready;
  const rss: Array<{ t: number; bridge: number; trader: number; bridgeAnon: number; traderAnon: number }> = [];
  const t0 = Date.now();
  const sampler = sampleRss ? setInterval(() => rss.push({
    t: (Date.now() - t0) / 1000, bridge: rssMb(svc.bridge.pid), trader: rssMb(svc.trader.pid),
    bridgeAnon: rssMb(svc.bridge.pid, 'RssAnon'), traderAnon: rssMb(svc.trader.pid, 'RssAnon'),
  }), 1_000) : undefined;
  const cpu0 = { bridge: cpuSeconds(svc.bridge.pid), trader: cpuSeconds(svc.trader.pid), member: cpuSeconds(member.pid), bench: process.cpuUsage() };
  const memAt: Array<[number, Record<string, number>]> = [];
  const memTimer = sampleRss ? setTimeout(() => void bridgeMemory(svc.bridgeMetricsPort).then((m) => memAt.push([60, m]), () => undefined), 60_000) : undefined;
  const renamed = await produce(svc.scanDir, rate, Math.round(rate * seconds));
  clearTimeout(memTimer);
  if (sampleRss) memAt.push([Math.round((Date.now() - t0) / 1000), await bridgeMemory(svc.bridgeMetricsPort).catch(() => ({}))]);
  for (const [t, m] of memAt) console.log(`  bridge memory at ${t} s (MB): ${Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const bc = process.cpuUsage(cpu0.bench);
  const cpuMsPerScan = {
    bridge: ((cpuSeconds(svc.bridge.pid) - cpu0.bridge) * 1e3) / renamed.size,
    trader: ((cpuSeconds(svc.trader.pid) - cpu0.trader) * 1e3) / renamed.size,
    member: ((cpuSeconds(member.pid) - cpu0.member) * 1e3) / renamed.size,
    bench: (bc.user + bc.system) / 1e3 / renamed.size,
  };
  const deadline = Date.now() + 15_000;
  while (decided.size < renamed.size && Date.now() < deadline) await sleep(20);
  clearInterval(sampler);
  await w.close();
  await svc.stop();
  if (dumpTo !== undefined) {
    // One line per scan with every stamp (epoch ns), for looking into the tail.
    const lines = [...renamed].map(([n, r]) => {
      const st = decided.get(n) ?? {};
      return [n, r, st.seen_ns, st.decoded_ns, st.put_ns, st.received_ns, st.decided_ns].join(',');
    });
    writeFileSync(dumpTo, `scan,renamed_ns,seen_ns,decoded_ns,put_ns,received_ns,decided_ns\n${lines.join('\n')}\n`);
  }
  const lat: number[] = [];
  const hops = { bridge: [] as number[], listener: [] as number[], decide: [] as number[] };
  for (const [n, renameNs] of renamed) {
    const st = decided.get(n);
    if (!st?.decided_ns) continue;
    lat.push((st.decided_ns - renameNs) / 1e6);
    if (st.put_ns) hops.bridge.push((st.put_ns - renameNs) / 1e6);
    if (st.put_ns && st.received_ns) hops.listener.push((st.received_ns - st.put_ns) / 1e6);
    if (st.received_ns) hops.decide.push((st.decided_ns - st.received_ns) / 1e6);
  }
  const out = {
    p50: percentile(lat, 50), p99: percentile(lat, 99), p999: percentile(lat, 99.9), n: lat.length, missing: renamed.size - lat.length,
    hopBridge: percentile(hops.bridge, 50), hopListener: percentile(hops.listener, 50), hopDecide: percentile(hops.decide, 50),
    hopBridgeP99: percentile(hops.bridge, 99), hopListenerP99: percentile(hops.listener, 99), hopDecideP99: percentile(hops.decide, 99), rss, cpuMsPerScan,
  };
  const f = (n: number) => n.toFixed(3);
  console.log(`  ${rate}/s: n=${out.n} missing=${out.missing} p50 ${f(out.p50)} ms p99 ${f(out.p99)} ms p99.9 ${f(out.p999)} ms`
    + `; hops p50/p99: rename→put ${f(out.hopBridge)}/${f(out.hopBridgeP99)}, put→listener ${f(out.hopListener)}/${f(out.hopListenerP99)}, listener→decided ${f(out.hopDecide)}/${f(out.hopDecideP99)} ms`);
  console.log(`  CPU ms per scan: ${Object.entries(cpuMsPerScan).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
  const last = rss.at(-1);
  if (last) console.log(`  RSS at the end: bridge ${last.bridge.toFixed(1)} MB (anon ${last.bridgeAnon.toFixed(1)}), trader ${last.trader.toFixed(1)} MB (anon ${last.traderAnon.toFixed(1)})`);
  return out;
}

console.log(`e2e benchmark (${quick ? 'quick' : 'full'})`);
const only = argAfter('--only');
if (only !== undefined) {
  const r = await atRate(Number(only), Number(argAfter('--seconds') ?? 30), true);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const window = (from: number, to: number, k: 'bridge' | 'trader') => mean(r.rss.filter((x) => x.t >= from && x.t < to).map((x) => x[k]));
  const end = r.rss.at(-1)?.t ?? 0;
  for (const k of ['bridge', 'trader'] as const) console.log(`  RSS ${k}: first 60 s ${window(0, 60, k).toFixed(1)} MB, last 60 s ${window(end - 60, end + 1, k).toFixed(1)} MB`);
  await conn.shutdown();
  await member.stop(15_000);
  process.exit(0);
}
const floor = await putToEventFloor(quick ? 1_500 : 6_000);
const floorP = { p50: percentile(floor, 50), p99: percentile(floor, 99), p999: percentile(floor, 99.9) };
console.log(`  floor, bare set → entry event: p50 ${floorP.p50.toFixed(3)} ms p99 ${floorP.p99.toFixed(3)} ms p99.9 ${floorP.p999.toFixed(3)} ms`);
const at10 = await atRate(10, quick ? 5 : 30);
const at1000 = await atRate(1_000, quick ? 3 : 10);
// 100 scans/s last and longest: its RSS samples are the memory figures.
const soakSeconds = quick ? 60 : 600;
const at100 = await atRate(100, soakSeconds, true);
const maxOf = (k: 'bridge' | 'trader') => Math.max(...at100.rss.map((r) => r[k]));
const meanIn = (from: number, to: number, k: 'bridge' | 'trader') => {
  const xs = at100.rss.filter((r) => r.t >= from && r.t < to).map((r) => r[k]);
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
};
// Growth between the first and the last minute (in a quick run: its first and last ten seconds).
const [a0, a1, b0, b1] = quick ? [0, 10, soakSeconds - 10, soakSeconds] : [60, 120, 540, 600];
const growth = Math.max(meanIn(b0, b1, 'bridge') - meanIn(a0, a1, 'bridge'), meanIn(b0, b1, 'trader') - meanIn(a0, a1, 'trader'));

const file = writeResult('e2e', quick, {
  metrics: {
    ...rateLatencyMetrics(at10, at100, at1000),
    hop_bridge_ms_p50: round(at100.hopBridge, 3),
    hop_listener_ms_p50: round(at100.hopListener, 3),
    hop_decide_ms_p50: round(at100.hopDecide, 3),
    decide_ns_per_scan: round(cost.decideNs, 0),
    seal_ns_per_scan: round(sealing.sealNs, 0),
    open_ns_per_scan: round(sealing.openNs, 0),
    rss_mb_bridge_max: round(maxOf('bridge'), 1),
    rss_mb_trader_max: round(maxOf('trader'), 1),
    rss_growth_mb_min1_to_min10: round(growth, 1),
    undecided_at_100: at100.missing,
    hop_bridge_ms_p99: round(at100.hopBridgeP99, 3),
    hop_listener_ms_p99: round(at100.hopListenerP99, 3),
    hop_decide_ms_p99: round(at100.hopDecideP99, 3),
    cpu_ms_per_scan_bridge: round(at100.cpuMsPerScan.bridge, 3),
    cpu_ms_per_scan_trader: round(at100.cpuMsPerScan.trader, 3),
    cpu_ms_per_scan_member: round(at100.cpuMsPerScan.member, 3),
  },
  baseline: {
    what: 'decide(), and sealing a scan plus opening it (HMAC-SHA256, the authentication every scan carries), against JSON.parse of the same scans in the same process (the least any consumer of a scan does); '
      + 'the whole path at 100 scans/s against the floor under it: a bare Hazelcast set of a scan-sized value to the entry event in another client, on the same member, every 10 ms',
    json_parse_ns_per_scan: round(cost.parseNs, 0),
    ratio_decide_over_parse: round(cost.decideNs / cost.parseNs, 3),
    ratio_seal_plus_open_over_parse: round((sealing.sealNs + sealing.openNs) / cost.parseNs, 3),
    floor_set_to_event_ms_p50: round(floorP.p50, 3),
    floor_set_to_event_ms_p99: round(floorP.p99, 3),
    floor_set_to_event_ms_p999: round(floorP.p999, 3),
    ratio_p50_at_100_over_floor: round(at100.p50 / floorP.p50, 2),
    ratio_p99_at_100_over_floor: round(at100.p99 / floorP.p99, 2),
  },
});
console.log(`wrote ${file}`);
await conn.shutdown();
await member.stop(15_000);
