import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../paths.ts';

const BENCH_DIR = path.join(REPO_ROOT, 'bench');

export function benchNames(): string[] {
  return readdirSync(BENCH_DIR).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
}

/** Runs bench/<name>.ts, which writes bench/results/<name>.json. */
export function bench(name: string, quick: boolean, args: readonly string[] = []): Promise<number> {
  const file = path.join(BENCH_DIR, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`dolphin bench: no benchmark "${name}"; there are: ${benchNames().join(', ')}`);
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...(quick ? ['--quick'] : []), ...args], { cwd: REPO_ROOT, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
