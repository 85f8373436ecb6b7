import { fork } from 'node:child_process';
import path from 'node:path';

const CHILD = path.join(import.meta.dirname, 'producer-child.ts');

/**
 * Runs the producer child (its own process) at `rate` scans/s for `count` scans into `dir`;
 * resolves with each file (relative to `dir`) and the epoch ns right after its rename.
 */
export function runProducer(dir: string, rate: number, count: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const renamed = new Map<string, number>();
    const child = fork(CHILD, [JSON.stringify({ dir, rate, count, seed: rate })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: { type: string; batch?: Array<[string, number]> }) => {
      if (m.type === 'renamed') for (const [f, ns] of m.batch ?? []) renamed.set(f, ns);
    });
    child.once('exit', (code) => (code === 0 ? resolve(renamed) : reject(new Error(`producer exited ${code}`))));
  });
}
