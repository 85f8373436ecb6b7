// The scan bridge's hot path: a scan file renamed into place → its put to
// DOLPHIN_FEATURES["latest_eigen_scan"] acknowledged. Rename→put latency at 10, 100 and 1,000
// scans/s (producer in its own process), sustained throughput on a burst of files, and in the
// same run the baseline the old design used: polling the folder every 5 s and every 100 ms.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, featureScanSchema, isoMicros, Keys, loadConfig, MapNames, nowEpochNs, type FeatureScan } from '@dolphin/core';
import { connect, freePort, openMap, startMember, type TypedMap } from '@dolphin/hz';
import { decodeScanFile, encodeScans, scanFilePath, ScanGenerator, tempPathFor } from '@dolphin/scanfile';
import { ScanBridge } from '@dolphin/scan-bridge';
import { runProducer } from './lib/producer.ts';
import { isQuick, percentile, rateLatencyMetrics, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const logger = createLogger({ service: 'bench-bridge', level: 'warn' });

const port = await freePort();
const memberConfig = loadConfig().member;
const member = await startMember({ port, clusterName: `bench-bridge-${port}`, heapMb: memberConfig.heapMb, extraJvmArgs: memberConfig.jvmArgs });
const conn = await connect({
  settings: { clusterName: member.clusterName, members: [member.address], connectTimeoutMs: 2_000, operationTimeoutMs: 10_000, reconnect: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 } },
  logger, firstConnectTimeoutMs: 30_000,
});
const features = await openMap(conn, MapNames.FEATURES, featureScanSchema);

// A member in production runs for days; a fresh JVM is far slower until its JIT has compiled the
// put path. Warm it first, so the figures are the steady state.
{
  const warm = JSON.stringify({ pad: 'x'.repeat(4_000) });
  const n = quick ? 10_000 : 30_000;
  for (let i = 0; i < n; i++) await features.raw.set('bench_warmup', warm);
  await features.raw.delete('bench_warmup');
}

function freshDirs() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-bridge-'));
  return { scanDir: path.join(root, 'scans'), stateDir: path.join(root, 'state'), quarantineDir: path.join(root, 'q') };
}

/** The bridge as Dolphin runs it, in this process; returns file → put-acknowledged epoch ns. */
const stampsByFile = new Map<string, Record<string, number>>();

async function withBridge<T>(dirs: ReturnType<typeof freshDirs>, fn: (putDone: Map<string, number>) => Promise<T>): Promise<T> {
  const putDone = new Map<string, number>();
  stampsByFile.clear();
  const bridge = new ScanBridge({
    ...dirs, settleMs: 10_000, catchUpMax: 1_000, source: 'bench', logger,
    publish: (text) => features.setEncoded(Keys.LATEST_EIGEN_SCAN, text),
    onPublished: (v: FeatureScan, ns: number) => {
      putDone.set(v.file, ns);
      stampsByFile.set(v.file, { ...(v.stamps ?? {}), done_ns: ns });
    },
  });
  await bridge.start();
  try {
    return await fn(putDone);
  } finally {
    await bridge.stop();
  }
}

const latencies = (renamed: Map<string, number>, putDone: Map<string, number>) =>
  [...renamed].flatMap(([f, r]) => (putDone.has(f) ? [((putDone.get(f) as number) - r) / 1e6] : []));

async function atRate(rate: number, seconds: number): Promise<{ p50: number; p99: number; p999: number; n: number; missing: number }> {
  const dirs = freshDirs();
  return withBridge(dirs, async (putDone) => {
    const count = Math.round(rate * seconds);
    const renamed = await runProducer(dirs.scanDir, rate, count);
    const deadline = Date.now() + 10_000;
    while (putDone.size < renamed.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lat = latencies(renamed, putDone);
    const hop = (from: string, to: string, p: number) => percentile([...renamed].flatMap(([f, r]) => {
      const st: Record<string, number | undefined> = { rename_ns: r, ...stampsByFile.get(f) };
      const a = st[from];
      const b = st[to];
      return a !== undefined && b !== undefined ? [(b - a) / 1e6] : [];
    }), p).toFixed(3);
    for (const p of [50, 99]) {
      console.log(`    hops p${p} (ms): rename→event ${hop('rename_ns', 'seen_ns', p)}, event→decoded ${hop('seen_ns', 'decoded_ns', p)}, decoded→put issued ${hop('decoded_ns', 'put_ns', p)}, put issued→acknowledged ${hop('put_ns', 'done_ns', p)}`);
    }
    const out = { p50: percentile(lat, 50), p99: percentile(lat, 99), p999: percentile(lat, 99.9), n: lat.length, missing: renamed.size - lat.length };
    console.log(`  ${rate}/s: n=${out.n} p50 ${out.p50.toFixed(3)} ms p99 ${out.p99.toFixed(3)} ms p99.9 ${out.p999.toFixed(3)} ms missing ${out.missing}`);
    return out;
  });
}

/** Files prepared aside, then renamed into place in one burst: how fast the bridge drains them. */
async function throughput(n: number): Promise<number> {
  const dirs = freshDirs();
  const staging = path.join(path.dirname(dirs.scanDir), 'staging');
  mkdirSync(staging, { recursive: true });
  const gen = new ScanGenerator({ seed: 99 });
  const base = nowEpochNs();
  const files: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const ns = base + i * 1_000;
    const scan = gen.next(ns);
    const final = scanFilePath(dirs.scanDir, scan.scan_number, ns);
    const staged = path.join(staging, path.basename(final));
    writeFileSync(staged, encodeScans([scan]));
    files.push([staged, final]);
  }
  // The date folder exists before the bridge starts, so the burst goes through the watch events.
  mkdirSync(path.dirname(files[0]![1]), { recursive: true });
  return withBridge(dirs, async (putDone) => {
    const t0 = performance.now();
    for (const [staged, final] of files) renameSync(staged, final);
    const deadline = Date.now() + 60_000;
    while (putDone.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const rate = putDone.size / ((performance.now() - t0) / 1000);
    console.log(`  burst of ${n}: ${putDone.size} published at ${Math.round(rate)} scans/s`);
    return rate;
  });
}

/** The old design's loop: list the folder every `everyMs`, publish what is new. */
async function polling(everyMs: number, rate: number, seconds: number): Promise<number> {
  const dirs = freshDirs();
  const putDone = new Map<string, number>();
  const seen = new Set<string>();
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      let dayDirs: string[] = [];
      try { dayDirs = readdirSync(dirs.scanDir); } catch { return; }
      for (const d of dayDirs.sort()) {
        for (const name of readdirSync(path.join(dirs.scanDir, d)).sort()) {
          const rel = `${d}/${name}`;
          if (!name.endsWith('.arrow') || name.startsWith('.') || seen.has(rel)) continue;
          seen.add(rel);
          const r = decodeScanFile(readFileSync(path.join(dirs.scanDir, rel)));
          if (r.kind !== 'ok') continue;
          const row = r.rows[0]!;
          await features.setEncoded(Keys.LATEST_EIGEN_SCAN, JSON.stringify({ ...row, timestamp: isoMicros(row.timestamp_ns), bridge_ts: isoMicros(), bridge_source: 'poll', file: rel }));
          putDone.set(rel, nowEpochNs());
        }
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), everyMs);
  const renamed = await runProducer(dirs.scanDir, rate, Math.round(rate * seconds));
  const deadline = Date.now() + everyMs * 2 + 2_000;
  while (putDone.size < renamed.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  const p50 = percentile(latencies(renamed, putDone), 50);
  console.log(`  polling every ${everyMs} ms at ${rate}/s: p50 ${p50.toFixed(1)} ms`);
  return p50;
}

// `--only throughput` runs one phase and writes nothing (for looking at variance).
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (only === 'throughput') {
  for (let i = 0; i < 3; i++) await throughput(quick ? 2_000 : 10_000);
  await conn.shutdown();
  await member.stop(15_000);
  process.exit(0);
}

console.log(`bridge benchmark (${quick ? 'quick' : 'full'})`);
const at10 = await atRate(10, quick ? 5 : 30);
const at100 = await atRate(100, quick ? 5 : 20);
const at1000 = await atRate(1_000, quick ? 3 : 10);
const tput = await throughput(quick ? 2_000 : 10_000);
const poll5s = await polling(5_000, 10, quick ? 10 : 30);
const poll100ms = await polling(100, 10, quick ? 5 : 20);

const file = writeResult('bridge', quick, {
  metrics: {
    throughput_scans_per_s: round(tput, 0),
    ...rateLatencyMetrics(at10, at100, at1000),
    poll_5s_latency_ms_p50: round(poll5s, 1),
    poll_100ms_latency_ms_p50: round(poll100ms, 1),
    unpublished_at_1000: at1000.missing,
  },
  baseline: {
    what: 'polling the scan folder as the old design did (list every 5 s and every 100 ms; same decode and put), at 10 scans/s in the same run',
    poll_5s_latency_ms_p50: round(poll5s, 1),
    poll_100ms_latency_ms_p50: round(poll100ms, 1),
    ratio_poll_100ms_over_inotify_p50_at_10: round(poll100ms / at10.p50, 1),
    ratio_poll_5s_over_inotify_p50_at_10: round(poll5s / at10.p50, 0),
  },
});
console.log(`wrote ${file}`);
await conn.shutdown();
await member.stop(15_000);
