import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { difference, examine, fuzzCaseArb, mutate, seedCorpus, surroundings } from '../test-fixtures/fuzz-harness.ts';

// The flat reader parses bytes any producer may drop into the scan folder. Property test over
// mutated real scan files (harness in test-fixtures/fuzz-harness.ts; `./dolphin bench
// fuzz-scanfile` runs the same for minutes). Fixed seed, so a failure replays: fast-check
// prints the seed and the shrunk case, and FUZZ_SEED=<seed> reruns it.
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_215);
/** The time box of the run; a slow machine makes fewer inputs, never a failure. */
const TIME_BOX_MS = 4_000;

const seeds = seedCorpus();

describe('flat Arrow IPC reader under fuzzing', () => {
  it('reads every unmutated seed as Arrow does, alone and among other bytes', () => {
    expect(seeds.length).toBeGreaterThan(30);
    for (const [i, seed] of seeds.entries()) {
      const { accepted, problems } = examine(seed.bytes, surroundings(i));
      expect(problems, seed.name).toEqual([]);
      // The scans and every-type seeds are read; the declined shapes are left to Arrow.
      if (!seed.name.startsWith('declined')) expect(accepted, seed.name).toContain(seed.format);
    }
  });

  it('keeps its promises on mutated scan files: no throw or hang, nothing read outside the input, bounded output, same values as Arrow', () => {
    let runs = 0;
    let accepted = 0;
    const property = fc.property(fuzzCaseArb(seeds.length), fc.nat(), (c, noise) => {
      runs++;
      const bytes = mutate((seeds[c.seed] as (typeof seeds)[number]).bytes, c.mutations);
      const result = examine(bytes, surroundings(noise));
      if (result.accepted.length > 0) accepted++;
      if (result.problems.length > 0) {
        throw new Error(`${seeds[c.seed]?.name}: ${result.problems.map((p) => `${p.kind} (${p.format}): ${p.detail}`).join('\n')}`);
      }
    });
    fc.assert(property, { seed: SEED, numRuns: 1_000_000, plugins: [fc.interruptAfterTimeLimit(TIME_BOX_MS)] });
    console.log(`flat-ipc fuzz: seed ${SEED}, ${runs} inputs in ${TIME_BOX_MS / 1000} s, ${accepted} read, ${runs - accepted} declined`);
    // Enough inputs to mean something, and some mutated files still read (values changed in place).
    expect(runs).toBeGreaterThan(200);
    expect(accepted).toBeGreaterThan(runs / 50);
  });

  it('finds a difference when there is one (the comparison can fail)', () => {
    expect(difference([{ a: 0 }], [{ a: -0 }])).toBeDefined();
    expect(difference([{ a: [1, 2] }], [{ a: [1, 2, 3] }])).toBeDefined();
    expect(difference([{ a: 'x', b: 1 }], [{ b: 1, a: 'x' }])).toBeDefined();
    expect(difference([{ a: Number.NaN }], [{ a: Number.NaN }])).toBeUndefined();
  });
});
