import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, RUN_DIR } from '../paths.ts';

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
}

const TYPECHECK_PROJECTS = ['tsconfig.json', 'services/dashboard/web/tsconfig.json'];

/** Typecheck, then every test (unit and integration) with vitest; ends with one summary line. */
export async function test(vitestArgs: string[], options: { typecheck: boolean }): Promise<number> {
  const node = process.execPath;
  if (options.typecheck) {
    // The Node code, and the dashboard's page (DOM types) on its own.
    for (const project of TYPECHECK_PROJECTS) {
      console.log(`dolphin test: typecheck ${project} (tsc --noEmit)`);
      const code = await run(node, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project, '--noEmit']);
      if (code !== 0) {
        console.error(`dolphin test: typecheck of ${project} failed`);
        return code;
      }
    }
  }
  mkdirSync(RUN_DIR, { recursive: true });
  const report = path.join(RUN_DIR, 'test-results.json');
  const code = await run(node, [
    path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run',
    '--reporter=default', '--reporter=json', `--outputFile.json=${report}`,
    ...vitestArgs,
  ]);
  try {
    const r = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
    // A crashed test worker leaves its tests with no result, neither passed nor failed: they
    // count as failed.
    const noResult = r.numTotalTests - r.numPassedTests - r.numFailedTests - r.numPendingTests - r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + noResult} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
    if (noResult > 0) {
      console.error(`dolphin test: ${noResult} test(s) have no result (a test worker crashed; see the errors above)`);
      return code === 0 ? 1 : code;
    }
    if (r.numTotalTests === 0) {
      console.error('dolphin test: no test ran');
      return code === 0 ? 1 : code;
    }
  } catch {
    console.error(`dolphin test: no report at ${report}`);
    return code === 0 ? 1 : code;
  }
  return code;
}
