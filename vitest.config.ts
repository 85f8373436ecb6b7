import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code; integration tests in test/ run against real members,
// processes and files. Forks, not threads: a member launched by a test carries a parent-death
// signal tied to the thread that spawned it, and a worker thread exits before its process.
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'cli/src/**/*.test.ts', 'test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // After the unit tests, which are quick and say most about a broken change.
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts', 'services/*/test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Each file starts its own member(s); two at a time suits a 2-core machine.
          maxWorkers: 2,
          // Against an external cluster (HZ_MEMBERS) files share maps, so they run one at a time.
          fileParallelism: !process.env.HZ_MEMBERS,
        },
      },
    ],
  },
});
