// Backtests: how fast one model replays archived scans on one core, and how well a job of
// several dates and models uses the cores. An archive of realistic days is written first (one
// scan every 10 s, 30 assets), then, on the main thread:
// - decoding the day from its Arrow files (the baseline: what a backtest without the day cache
//   does every time), reading it back from the day cache, and decide() alone over it;
// - a whole model-day as a worker runs it (cache warm): the scans replayed per second per core.
// Then a 5-day × 4-model job through the real worker pool (started beforehand) and database
// against a 1 × 1 job, scaled by model-days and cores: the parallel efficiency.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@dolphin/core';
import { executeModelDay, JobRunner, JobsDb, loadDayScans, runModelDay, WorkerPool } from '@dolphin/jobs-api';
import { ScanEncoder, ScanGenerator, scanFilePath } from '@dolphin/scanfile';
import { initialState, strategyParams } from '@dolphin/strategy';
import { isQuick, round, writeResult } from './lib/result.ts';

const quick = isQuick();
const PER_DAY = quick ? 2_000 : 8_640;
const DATES = ['2026-09-01', '2026-09-02', '2026-09-03', '2026-09-04', '2026-09-05'];
const MODELS = ['m1', 'm2', 'm3', 'm4'];
const logger = createLogger({ service: 'bench-backtest', level: 'error' });
const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-bench-backtest-'));
const scans = path.join(root, 'scans');

console.log(`backtest benchmark (${quick ? 'quick' : 'full'}): writing ${DATES.length} days × ${PER_DAY} scans`);
{
  const enc = new ScanEncoder();
  const gen = new ScanGenerator({ seed: 3, assets: 30 });
  for (const date of DATES) {
    mkdirSync(path.join(scans, date), { recursive: true });
    const t0 = Date.parse(`${date}T00:00:00Z`) * 1e6;
    for (let i = 0; i < PER_DAY; i++) {
      const s = gen.next(t0 + i * 10e9);
      writeFileSync(scanFilePath(scans, s.scan_number, s.timestamp_ns), enc.encode(s));
    }
  }
}

const best = (runs: number[]) => Math.max(...runs);
const rate = (n: number, ms: number) => n / (ms / 1000);
const cache = path.join(root, 'cache');

// Decoded from the files (no cache), then from the day cache, then decide() alone.
const fromFiles: number[] = [];
const fromCache: number[] = [];
const decideOnly: number[] = [];
const rounds = quick ? 2 : 3;
for (let r = 0; r < rounds; r++) {
  rmSync(cache, { recursive: true, force: true });
  const cold = await loadDayScans(scans, DATES[0] as string, cache);
  fromFiles.push(rate(cold.scans.length, cold.ms));
  const warm = await loadDayScans(scans, DATES[0] as string, cache);
  if (!warm.cached) throw new Error('the day cache was not used');
  fromCache.push(rate(warm.scans.length, warm.ms));
  const params = strategyParams();
  const apex = (ts: number) => ({ posture: 'APEX' as const, size_scale: 1, ts: new Date(ts / 1e6).toISOString() });
  const t0 = performance.now();
  runModelDay({ date: DATES[0] as string, params, scans: warm.scans, safetyAt: apex, startState: initialState(params) });
  decideOnly.push(rate(warm.scans.length, performance.now() - t0));
}
// A whole model-day as a worker thread runs it, cache warm: load, decide, explain.
const whole: number[] = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const out = await executeModelDay({ date: DATES[0] as string, model: 'm1', strategy: {}, scansDir: scans, cacheDir: cache });
  if (!out.ok) throw new Error(out.error);
  whole.push(rate(out.stats.scans, performance.now() - t0));
}
console.log(`  one core: decode from files ${Math.round(best(fromFiles))} scans/s, day cache ${Math.round(best(fromCache))}, decide() alone ${Math.round(best(decideOnly))}, whole model-day (cache warm) ${Math.round(best(whole))}`);

// Every day cached first, so both jobs measure running, not the first decode.
for (const d of DATES) await loadDayScans(scans, d, cache);
const config = { scans, models: MODELS.map((m, i) => ({ signature: m, strategy: { takeProfitPct: 0.01 + i * 0.002 } })) };
// One pool for every job, its threads started and warm before anything is timed: a worker's
// start (≈ 0.4 s of module loading) is paid once per process, not per job.
const pool = new WorkerPool();
async function job(dates: string[], models: string[]): Promise<number> {
  const dbDir = mkdtempSync(path.join(root, 'db-'));
  const db = new JobsDb(path.join(dbDir, 'jobs.db'));
  const runner = new JobRunner({ db, pool, logger, defaultScansDir: scans, cacheDir: cache });
  const created = db.createJob({ configPath: 'bench.json', config, dates, models });
  if (!('created' in created)) throw new Error('a job is already active');
  const t0 = performance.now();
  const status = await runner.run(created.created.job_id);
  const ms = performance.now() - t0;
  db.close();
  if (status !== 'completed') throw new Error(`bench job ${status}`);
  return ms;
}
const cores = os.availableParallelism();
await job([DATES[0] as string], MODELS.slice(0, cores));
const one = Math.min(await job([DATES[0] as string], ['m1']), await job([DATES[0] as string], ['m1']), await job([DATES[0] as string], ['m1']));
const big = await job(DATES, MODELS);
await pool.close();
const ideal = (one * DATES.length * MODELS.length) / cores;
const efficiency = ideal / big;
console.log(`  jobs: 1 × 1 ${round(one / 1000, 3)} s; ${DATES.length} × ${MODELS.length} ${round(big / 1000, 3)} s on ${cores} cores (ideal ${round(ideal / 1000, 3)} s): efficiency ${round(efficiency, 2)}`);

const file = writeResult('backtest', quick, {
  metrics: {
    scans_per_s_per_core: Math.round(best(whole)),
    parallel_efficiency_4_models: round(efficiency, 3),
    decode_from_files_scans_per_s: Math.round(best(fromFiles)),
    day_cache_scans_per_s: Math.round(best(fromCache)),
    decide_only_scans_per_s: Math.round(best(decideOnly)),
    job_1x1_s: round(one / 1000, 3),
    job_5x4_s: round(big / 1000, 3),
    scans_per_day: PER_DAY,
    cores,
  },
  baseline: {
    what: "a model-day's scans decoded from their Arrow files, one file per scan (what a backtest without the day cache does each time), on the same core in the same run; and for the 5 × 4 job, the 1 × 1 job's time × 20 model-days ÷ cores",
    ratio_whole_over_decode_from_files: round(best(whole) / best(fromFiles), 2),
    ideal_5x4_s: round(ideal / 1000, 3),
  },
});
console.log(`wrote ${file}`);
rmSync(root, { recursive: true, force: true });
