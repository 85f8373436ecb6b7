// The flat Arrow IPC reader (packages/scanfile/src/flat-ipc.ts, the bridge's per-scan decode)
// fuzzed for minutes: the property test's mutations of real scan files (apache-arrow and
// pyarrow written), each input read as a file and as a stream, alone and embedded among other
// bytes, and every input it accepts compared with apache-arrow.
//
// Baseline, same run: apache-arrow decoding inputs as decodeScanFile falls back to it
// (tableFromIPC, then tableRows when the row count is believable). First the first inputs of
// the same sequence one by one, to count where Arrow throws or hangs; then both decoders in
// bulk loops over those of them Arrow finishes; then both on the unmutated files the flat
// reader reads and on one 50-asset scan (the hot path).
//
//   ./dolphin bench fuzz-scanfile [--quick] [-- --seed N]
//
// Inputs run in worker threads watched from here: an input that stalls its worker for the
// hang limit is a hang — the flat reader's (must be 0) or Arrow's (counted in the baseline) —
// and a spare worker, loaded and warmed up meanwhile, goes on with the next input.
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import fc from 'fast-check';
import { ScanGenerator, encodeScans } from '@dolphin/scanfile';
// The reader and its fuzz harness are internal to the scan file package (not exported).
import { arrowDecode, examine, fuzzCaseArb, mutate, readFlatIpc, seedCorpus, surroundings, type ProblemKind } from '../packages/scanfile/test-fixtures/fuzz-harness.ts';
import { isQuick, percentile, round, writeResult } from './lib/result.ts';

/** The fuzz worker examines an input in well under a millisecond; 5 s without progress is a hang. */
const FUZZ_HANG_MS = 5_000;
/** Arrow decodes a valid scan file in about a millisecond; 250 ms on one input is taken as a hang (some never end). */
const ARROW_HANG_MS = 250;
const CHUNK = 500;

// Counters shared with the workers, one Float64 slot each.
const SLOTS = ['inputs', 'accepted', 'declined', 'crash', 'slow', 'read_past_buffer', 'unbounded', 'mismatch_vs_arrow', 'classified', 'arrow_throws', 'timed', 'flat_ms', 'arrow_ms', 'position', 'phase'] as const;
type Slot = (typeof SLOTS)[number];
const slot = (name: Slot) => SLOTS.indexOf(name);
const PHASE_FLAT = 1;
const PHASE_ARROW = 2;

interface Job {
  /** fuzz: examine inputs until the deadline; classify: Arrow on inputs [start, end) one by one; time: both decoders in bulk over [0, end) but `skip`. */
  mode: 'fuzz' | 'classify' | 'time';
  seed: number;
  deadline: number;
  /** Index of the first input (after a hang: the one after it). */
  start: number;
  end: number;
  /** Inputs Arrow hangs on, left out of the timing. */
  skip: number[];
  shared: SharedArrayBuffer;
}

/** The inputs of a run, in order: the same for the fuzz and the baseline workers. */
function* inputs(seed: number, start: number, end: number): Generator<{ index: number; name: string; format: 'file' | 'stream'; bytes: Uint8Array; noise: number }> {
  const seeds = seedCorpus();
  const arb = fc.tuple(fuzzCaseArb(seeds.length), fc.nat());
  for (let index = start; index < end; ) {
    const chunk = Math.floor(index / CHUNK);
    const cases = fc.sample(arb, { seed: seed + chunk, numRuns: CHUNK });
    for (; index < Math.min(end, (chunk + 1) * CHUNK); index++) {
      const [c, noise] = cases[index - chunk * CHUNK] as (typeof cases)[number];
      const s = seeds[c.seed] as (typeof seeds)[number];
      yield { index, name: `${s.name} ${JSON.stringify(c.mutations, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`, format: s.format, bytes: mutate(s.bytes, c.mutations), noise };
    }
  }
}

function runWorker(job: Job): void {
  const stats = new Float64Array(job.shared);
  const add = (name: Slot, n = 1) => {
    stats[slot(name)] = (stats[slot(name)] as number) + n;
  };
  const at = (index: number, phase: number) => {
    stats[slot('position')] = index;
    stats[slot('phase')] = phase;
  };
  if (job.mode === 'time') {
    const skip = new Set(job.skip);
    const all = [...inputs(job.seed, 0, job.end)].filter((input) => !skip.has(input.index));
    // Round after round until the deadline, each decoder over all inputs in one loop.
    for (let round = 0; round === 0 || Date.now() < job.deadline; round++) {
      at(round, PHASE_FLAT);
      let t0 = performance.now();
      for (const input of all) readFlatIpc(input.bytes, input.format);
      add('flat_ms', performance.now() - t0);
      at(round, PHASE_ARROW);
      t0 = performance.now();
      for (const input of all) arrowDecode(input.bytes);
      add('arrow_ms', performance.now() - t0);
      add('timed', all.length);
    }
  } else {
    const end = job.mode === 'fuzz' ? Number.MAX_SAFE_INTEGER : job.end;
    for (const input of inputs(job.seed, job.start, end)) {
      if (Date.now() > job.deadline) break;
      if (job.mode === 'classify') {
        at(input.index, PHASE_ARROW);
        if (!arrowDecode(input.bytes)) add('arrow_throws');
        add('classified');
        continue;
      }
      at(input.index, PHASE_FLAT);
      const result = examine(input.bytes, surroundings(input.noise));
      add('inputs');
      add(result.accepted.length > 0 ? 'accepted' : 'declined');
      for (const kind of new Set(result.problems.map((p) => p.kind))) {
        add(kind);
        parentPort?.postMessage({ kind, input: input.name, detail: result.problems.find((p) => p.kind === kind)?.detail.slice(0, 400) });
      }
    }
  }
  stats[slot('phase')] = 0;
}

/** A worker thread that loads its modules, then waits for its job: a spare ready to replace one that hangs. */
function spawn(): Worker {
  return new Worker(import.meta.filename);
}

/** A fresh worker's first reads would run cold: a spare reads the valid files with both decoders while it waits, so the timings compare compiled code. */
function warmUp(): void {
  const seeds = seedCorpus();
  for (let i = 0; i < 20; i++) {
    for (const s of seeds) {
      readFlatIpc(s.bytes, s.format);
      if (i % 10 === 0) arrowDecode(s.bytes);
    }
  }
}

/** Runs workers of `mode` until the deadline (or the end of their inputs), replacing one that hangs. */
async function supervise(mode: Job['mode'], job: Omit<Job, 'mode' | 'start'>, hangMs: number, onMessage: (m: unknown) => void): Promise<Array<{ phase: number; index: number }>> {
  const stats = new Float64Array(job.shared);
  const hangs: Array<{ phase: number; index: number }> = [];
  let spare = spawn();
  for (let start = 0; ; ) {
    const worker = spare;
    spare = spawn();
    worker.on('message', onMessage);
    let exited = false;
    const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    void exit.then(() => {
      exited = true;
    });
    worker.postMessage({ ...job, mode, start } satisfies Job);
    let last = '';
    let since = Date.now();
    let hung: { phase: number; index: number } | undefined;
    while (!exited && hung === undefined) {
      await Promise.race([exit, new Promise((r) => setTimeout(r, Math.min(100, hangMs / 5)))]);
      const now = { index: stats[slot('position')] as number, phase: stats[slot('phase')] as number };
      const key = `${now.index}/${now.phase}`;
      if (key !== last) {
        last = key;
        since = Date.now();
      } else if (!exited && now.phase !== 0 && Date.now() - since > hangMs) {
        hung = now;
      }
    }
    if (hung === undefined) {
      await spare.terminate();
      return hangs;
    }
    hangs.push(hung);
    if (mode === 'fuzz' || hung.phase === PHASE_FLAT) console.log(`  ${mode}: input ${hung.index} hangs in ${hung.phase === PHASE_FLAT ? 'the flat reader' : 'Arrow'}; worker replaced`);
    await worker.terminate();
    stats[slot('phase')] = 0;
    if (mode === 'time') {
      await spare.terminate();
      return hangs; // a round is not an input to step past
    }
    start = hung.index + 1;
  }
}

/**
 * The files the reader reads (the unmutated seeds: scans of 1 to 50 assets, every type,
 * pyarrow's), decoded by the flat reader and by Arrow in turn: files per second; and µs per
 * decode of one 50-asset scan file (the hot path).
 */
function validFiles(rounds: number): { flatPerS: number; arrowPerS: number; files: number; flatUs: number; arrowUs: number } {
  const seeds = seedCorpus().filter((s) => readFlatIpc(s.bytes, s.format) !== undefined);
  const scan = encodeScans([new ScanGenerator({ seed: 5, assets: 50 }).next(1.8e18)], 'file');
  const flatPerS: number[] = [];
  const arrowPerS: number[] = [];
  const flatUs: number[] = [];
  const arrowUs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    for (let i = 0; i < 10; i++) for (const s of seeds) readFlatIpc(s.bytes, s.format);
    flatPerS.push((10 * seeds.length) / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (const s of seeds) arrowDecode(s.bytes);
    arrowPerS.push(seeds.length / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (let i = 0; i < 500; i++) readFlatIpc(scan, 'file');
    flatUs.push(((performance.now() - t0) * 1000) / 500);
    t0 = performance.now();
    for (let i = 0; i < 50; i++) arrowDecode(scan);
    arrowUs.push(((performance.now() - t0) * 1000) / 50);
  }
  return { files: seeds.length, flatPerS: percentile(flatPerS, 50), arrowPerS: percentile(arrowPerS, 50), flatUs: percentile(flatUs, 50), arrowUs: percentile(arrowUs, 50) };
}

async function main(): Promise<void> {
  const quick = isQuick();
  const seedArg = process.argv.indexOf('--seed');
  const seed = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 1;
  const fuzzSeconds = quick ? 25 : 240;
  const shared = new SharedArrayBuffer(8 * SLOTS.length);
  const stats = new Float64Array(shared);
  const get = (name: Slot) => stats[slot(name)] as number;
  const examples: Array<{ kind: ProblemKind; input: string; detail?: string }> = [];
  console.log(`fuzz-scanfile: seed ${seed}, fuzzing for ${fuzzSeconds} s`);

  const t0 = Date.now();
  const fuzzHangs = await supervise('fuzz', { seed, deadline: t0 + fuzzSeconds * 1000, end: 0, skip: [], shared }, FUZZ_HANG_MS, (m) => {
    if (examples.length < 50) examples.push(m as (typeof examples)[number]);
  });
  const fuzzMs = Date.now() - t0;
  const inputs = get('inputs') + fuzzHangs.length;
  for (const e of examples.slice(0, 12)) console.log(`  ${e.kind}: ${e.input}\n    ${e.detail}`);
  console.log(`  ${inputs} inputs (${get('accepted')} read, ${get('declined')} declined), ${fuzzHangs.length} hangs`);

  const mutated = quick ? 1_000 : 5_000;
  console.log(`baseline: Arrow on the first ${mutated} inputs one by one, then both decoders on those it finishes`);
  const classifyHangs = await supervise('classify', { seed, deadline: Date.now() + (quick ? 12_000 : 120_000), end: mutated, skip: [], shared }, ARROW_HANG_MS, () => {});
  const classified = get('classified') + classifyHangs.length;
  const arrowHangs = classifyHangs.length;
  const timeHangs = await supervise('time', { seed, deadline: Date.now() + (quick ? 4_000 : 30_000), end: classified, skip: classifyHangs.map((h) => h.index), shared }, 60_000, () => {});
  const timed = get('timed');
  const flatPerS = timed / (get('flat_ms') / 1000);
  const arrowPerS = timed / (get('arrow_ms') / 1000);
  const valid = validFiles(quick ? 5 : 40);

  const file = writeResult('fuzz-scanfile', quick, {
    metrics: {
      seed,
      inputs,
      accepted: get('accepted'),
      declined: get('declined'),
      crashes: get('crash'),
      hangs: fuzzHangs.length + timeHangs.filter((h) => h.phase === PHASE_FLAT).length,
      slow_inputs: get('slow'),
      mismatches_vs_arrow: get('mismatch_vs_arrow'),
      reads_past_buffer: get('read_past_buffer'),
      unbounded_outputs: get('unbounded'),
      inputs_per_s: round(inputs / (fuzzMs / 1000), 1),
      flat_decode_inputs_per_s: round(flatPerS, 0),
      flat_decode_files_per_s: round(valid.flatPerS, 0),
      flat_us_50_asset_scan: round(valid.flatUs, 2),
    },
    baseline: {
      what: 'apache-arrow as decodeScanFile falls back to it (tableFromIPC, then tableRows when the row count is believable), same run: on the first mutated inputs one by one (250 ms on one is a hang), then in bulk loops beside the flat reader over those it finishes; on the unmutated files the flat reader reads; and on one 50-asset scan',
      mutated_inputs: classified,
      arrow_throws: get('arrow_throws'),
      arrow_hangs: arrowHangs,
      arrow_decode_inputs_per_s: round(arrowPerS, 0),
      flat_over_arrow_inputs_per_s: round(flatPerS / arrowPerS, 2),
      files: valid.files,
      arrow_decode_files_per_s: round(valid.arrowPerS, 0),
      flat_over_arrow_files_per_s: round(valid.flatPerS / valid.arrowPerS, 2),
      arrow_us_50_asset_scan: round(valid.arrowUs, 2),
      arrow_over_flat_us_50_asset_scan: round(valid.arrowUs / valid.flatUs, 2),
    },
  });
  console.log(`  crashes ${get('crash')}, hangs ${fuzzHangs.length}, slow ${get('slow')}, mismatches ${get('mismatch_vs_arrow')}, reads past buffer ${get('read_past_buffer')}, unbounded ${get('unbounded')}`);
  console.log(`  ${classified} mutated inputs: Arrow threw on ${get('arrow_throws')} and hung on ${arrowHangs}; on the ${classified - arrowHangs} it finishes: flat ${round(flatPerS, 0)}/s, Arrow ${round(arrowPerS, 0)}/s`);
  console.log(`  ${valid.files} valid files: flat ${round(valid.flatPerS, 0)}/s, Arrow ${round(valid.arrowPerS, 0)}/s; one 50-asset scan: flat ${round(valid.flatUs, 2)} µs, Arrow ${round(valid.arrowUs, 2)} µs`);
  console.log(`wrote ${file}`);
}

if (isMainThread) await main();
else {
  warmUp();
  parentPort?.once('message', (job: Job) => runWorker(job));
}
