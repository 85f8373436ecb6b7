// Hazelcast member start-up and footprint, as `dolphin up` and the test harness start it:
// spawn → health check ready (ms), RSS right after ready, and RSS after 10,000 scan-sized
// writes. Baseline, measured in the same run: the same launcher on the newer Temurin JDK
// beside the default one (Dolphin runs on the default).
import { existsSync } from 'node:fs';
import { createLogger, MapNames, sampleFeatureScan } from '@dolphin/core';
import { connect, freePort, startMember, type MemberHandle } from '@dolphin/hz';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

const TEMURIN = '/usr/lib/jvm/temurin-25-jdk-amd64';
const quick = isQuick();
const rounds = quick ? 3 : 10;
const logger = createLogger({ service: 'bench-member-start', level: 'warn' });
const mb = (b: number | undefined) => round((b ?? Number.NaN) / 1024 / 1024, 1);

async function startTimes(javaHome: string | undefined): Promise<{ startMs: number[]; rssMb: number[] }> {
  const startMs: number[] = [];
  const rssMb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const port = await freePort();
    const m = await startMember({ port, clusterName: `bench-${port}`, heapMb: 512, ...(javaHome ? { javaHome } : {}) });
    startMs.push(m.startMs);
    rssMb.push(mb(m.rssBytes()));
    await m.stop(15_000);
    process.stdout.write(`  ${javaHome ?? 'default java'}: start ${Math.round(m.startMs)} ms, rss ${rssMb.at(-1)} MB\n`);
  }
  return { startMs, rssMb };
}

async function rssUnderWrites(): Promise<{ before: number; after: number; putsPerS: number }> {
  const port = await freePort();
  let member: MemberHandle | undefined;
  try {
    member = await startMember({ port, clusterName: `bench-load-${port}`, heapMb: 512 });
    const conn = await connect({ settings: { clusterName: member.clusterName, members: [member.address], connectTimeoutMs: 2_000, operationTimeoutMs: 10_000, reconnect: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 } }, logger, firstConnectTimeoutMs: 30_000 });
    const map = await conn.client.getMap<string, string>(MapNames.FEATURES);
    const before = mb(member.rssBytes());
    const n = quick ? 2_000 : 10_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await map.set(`scan_${i}`, JSON.stringify({ ...sampleFeatureScan, scan_number: i }));
    const putsPerS = n / ((performance.now() - t0) / 1000);
    const after = mb(member.rssBytes());
    await conn.shutdown();
    return { before, after, putsPerS };
  } finally {
    await member?.stop(15_000);
  }
}

const main = await startTimes(undefined);
const load = await rssUnderWrites();
const temurin = existsSync(TEMURIN) ? await startTimes(TEMURIN) : undefined;

const p50 = percentile(main.startMs, 50);
const file = writeResult('member-start', quick, {
  metrics: {
    start_to_ready_ms_p50: round(p50),
    start_to_ready_ms_p99: round(percentile(main.startMs, 99)),
    rss_mb_after_ready_p50: percentile(main.rssMb, 50),
    rss_mb_after_scan_writes: load.after,
    sequential_set_per_s: round(load.putsPerS, 0),
    rounds,
  },
  baseline: temurin
    ? {
        what: `the same launcher on ${TEMURIN} (Dolphin uses the default java, 17)`,
        start_to_ready_ms_p50: round(percentile(temurin.startMs, 50)),
        rss_mb_after_ready_p50: percentile(temurin.rssMb, 50),
        start_ratio_default_over_baseline: round(p50 / percentile(temurin.startMs, 50), 3),
      }
    : { what: `no ${TEMURIN} on this machine: no baseline` },
});
console.log(`wrote ${file}`);
