import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, REPO_ROOT } from '@dolphin/hz';
import { ScanEncoder, ScanGenerator, scanFilePath } from '@dolphin/scanfile';
import { SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { spawnCollecting, waitFor, type SpawnedProcess } from '@dolphin/test-support';

/** Archived scan files for `dates`, `perDay` each, `everyS` apart from 00:00 UTC, seeded. */
export function writeArchive(dir: string, dates: readonly string[], perDay: number, everyS: number, seed = 7): void {
  const enc = new ScanEncoder();
  const gen = new ScanGenerator({ seed, assets: 8, regimeEntry: 1 / 60 });
  for (const date of dates) {
    const t0 = Date.parse(`${date}T00:00:00Z`) * 1e6;
    mkdirSync(path.join(dir, date), { recursive: true });
    for (let i = 0; i < perDay; i++) {
      const s = gen.next(t0 + i * everyS * 1e9);
      writeFileSync(scanFilePath(dir, s.scan_number, s.timestamp_ns), enc.encode(s));
    }
  }
}

export interface ApiRig {
  root: string;
  configs: string;
  scans: string;
  stateDir: string;
  port: number;
  url: string;
  start(env?: Record<string, string>): Promise<SpawnedProcess>;
  /** Kills every API process it started (test cleanup). */
  cleanup(): Promise<void>;
}

/** A jobs API process on a free loopback port, over temporary configs, scans and state. */
export async function apiRig(): Promise<ApiRig> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-jobs-'));
  const configs = path.join(root, 'configs');
  const scans = path.join(root, 'scans');
  const stateDir = path.join(root, 'state');
  mkdirSync(configs, { recursive: true });
  const port = await freePort();
  const nobody = await freePort(); // the cluster: none; the API needs none
  const started: SpawnedProcess[] = [];
  return {
    root, configs, scans, stateDir, port, url: `http://127.0.0.1:${port}`,
    async start(env = {}) {
      const p = spawnCollecting(process.execPath, [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, 'services/jobs-api/src/main.ts')], {
        PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_CONFIG_DIR: root, DOLPHIN_STATE_DIR: stateDir, HZ_MEMBERS: `127.0.0.1:${nobody}`,
        DOLPHIN__jobs__port: String(port), DOLPHIN__jobs__configsDir: JSON.stringify(configs), DOLPHIN__scans__dir: JSON.stringify(scans), ...env,
      }, { ipc: true });
      started.push(p);
      await waitFor(() => p.logs.find((l) => l.msg === 'jobs API listening'), 'the jobs API listening', 60_000);
      return p;
    },
    async cleanup() {
      await Promise.all(started.map((p) => p.cleanup()));
    },
  };
}

export async function call(url: string, method: 'GET' | 'POST', route: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
