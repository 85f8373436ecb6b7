import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@dolphin/core';
import { pinnedHazelcastVersion } from '@dolphin/hz';

/** Nearest-rank percentile of `values` (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface BenchResult {
  metrics: Record<string, number>;
  baseline: { what: string } & Record<string, number | string>;
}

/** Writes bench/results/<name>.json in the shape of BENCH.md and returns its path. */
export function writeResult(name: string, quick: boolean, result: BenchResult): string {
  const file = path.join(REPO_ROOT, 'bench/results', `${name}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  const body = {
    name,
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, hazelcast: pinnedHazelcastVersion() },
    quick,
    metrics: result.metrics,
    baseline: result.baseline,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

export const isQuick = () => process.argv.includes('--quick');

export interface RateLatency {
  p50: number;
  p99: number;
  p999: number;
}

/** The latency metrics BENCH.md names for the 10, 100 and 1,000 scans/s runs (bridge and e2e). */
export function rateLatencyMetrics(at10: RateLatency, at100: RateLatency, at1000: RateLatency): Record<string, number> {
  return {
    latency_ms_p50_at_10: round(at10.p50, 3),
    latency_ms_p99_at_10: round(at10.p99, 3),
    latency_ms_p50_at_100: round(at100.p50, 3),
    latency_ms_p99_at_100: round(at100.p99, 3),
    latency_ms_p999_at_100: round(at100.p999, 3),
    latency_ms_p50_at_1000: round(at1000.p50, 3),
    latency_ms_p99_at_1000: round(at1000.p99, 3),
  };
}
