import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@dolphin/hz';
import { spawnCollecting, waitFor } from '@dolphin/test-support';
import { JobsDb } from '../src/index.ts';
import { apiRig, call, writeArchive, type ApiRig } from './rig.ts';

// kill -9 in the middle of a job, start again: the job finishes with every model-day exactly
// once, and its results are those of a run that was never interrupted (batch mode, the CLI).

const DATES = ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04'];
const TOKEN = 'a-token-of-sixteen-or-more';
/** The token, as production gives it: in a file only its owner reads. */
function tokenFile(): string {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-jobs-token-')), 'jobs.token');
  writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
  return f;
}
let rig: ApiRig;
let configFile: string;

beforeAll(async () => {
  rig = await apiRig();
  writeArchive(rig.scans, DATES, 4_000, 20, 11);
  configFile = path.join(rig.configs, 'pair.json');
  writeFileSync(configFile, JSON.stringify({ scans: rig.scans, models: [{ signature: 'a', strategy: {} }, { signature: 'b', strategy: { takeProfitPct: 0.004 } }] }));
});

afterAll(async () => {
  await rig.cleanup();
});

type Row = Record<string, unknown> & { date: string; model: string; action_id: number };
const comparable = (rows: Row[]) => rows.map(({ job_id: _j, ...r }) => r).sort((x, y) => `${x.model}${x.date}${String(x.action_id).padStart(6)}`.localeCompare(`${y.model}${y.date}${String(y.action_id).padStart(6)}`));

describe('a killed jobs API', () => {
  it('resumes the job it was running: every model-day once, the same results as an uninterrupted run', async () => {
    const env = { DOLPHIN__jobs__tokenFile: tokenFile(), DOLPHIN__jobs__workers: '1' };
    const first = await rig.start(env);
    const body = { config_path: 'pair.json', date_range: DATES };
    expect((await call(rig.url, 'POST', '/simulate/trigger', body)).status).toBe(401);
    const r = await call(rig.url, 'POST', '/simulate/trigger', body, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(202);
    const id = r.body.job_id as string;
    const progress = async () => (await call(rig.url, 'GET', `/simulate/status/${id}`)).body.progress as { completed: number; total_model_days: number };
    await waitFor(async () => (await progress()).completed >= 2, 'two model-days done', 120_000, 20);
    first.child.kill('SIGKILL');
    await first.exited;

    // Between the two processes: the database says where it stopped.
    const between = new JobsDb(path.join(rig.stateDir, 'jobs.db'));
    const left = between.progress(id);
    between.close();
    expect(left.completed).toBeGreaterThanOrEqual(2);
    expect(left.completed).toBeLessThan(8);

    const second = await rig.start(env);
    await waitFor(() => second.logs.find((l) => l.msg === 'resuming an unfinished job' && l.job_id === id), 'the resume');
    const done = await waitFor(async () => {
      const j = (await call(rig.url, 'GET', `/simulate/status/${id}`)).body as { status: string; progress: Record<string, number>; details: Array<{ status: string }> };
      return j.status === 'completed' && j;
    }, 'the resumed job completed', 120_000, 100);
    expect(done.progress).toMatchObject({ total_model_days: 8, completed: 8, failed: 0 });
    // Nothing was done twice: no model-day completed in both processes (a kill between a
    // commit and its log line may leave one line out, never add one).
    const completions = [...first.logs, ...second.logs].filter((l) => l.msg === 'model-day completed' && l.job_id === id).map((l) => `${l.date}/${l.model}`);
    expect(completions.length).toBe(new Set(completions).size);
    expect(second.logs.filter((l) => l.msg === 'model-day completed' && l.job_id === id).length).toBe(8 - left.completed);
    const resumed = comparable((await call(rig.url, 'GET', `/results?job_id=${id}`)).body.results as Row[]);

    // The same job in batch mode, never interrupted, into a database of its own.
    const refState = mkdtempSync(path.join(os.tmpdir(), 'dolphin-jobs-ref-'));
    const cli = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), ['backtest', '--config', configFile, '--dates', `${DATES[0]}..${DATES[3]}`, '--json'], {
      PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN_CONFIG_DIR: rig.root, DOLPHIN_STATE_DIR: refState,
    });
    expect((await cli.exited).code).toBe(0);
    const out = JSON.parse(cli.text.join('\n')) as { job_id: string; status: string; summary: Array<{ model: string; trades: number }> };
    expect(out.status).toBe('completed');
    const ref = new JobsDb(path.join(refState, 'jobs.db'));
    const reference = comparable(ref.results({ jobId: out.job_id }) as unknown as Row[]);
    ref.close();
    expect(resumed.length).toBeGreaterThan(8);
    expect(resumed).toEqual(reference);
    await second.cleanup();
  });

  it('a batch run killed mid-job does not block the API: the next trigger resumes it here', async () => {
    const api = await rig.start({ DOLPHIN__jobs__tokenFile: tokenFile() });
    const cli = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), ['backtest', '--config', configFile, '--dates', `${DATES[0]}..${DATES[3]}`, '--models', 'a'], {
      PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN_CONFIG_DIR: rig.root, DOLPHIN_STATE_DIR: rig.stateDir,
      DOLPHIN__jobs__workers: '1', DOLPHIN__scans__dir: JSON.stringify(rig.scans),
    });
    const db = new JobsDb(path.join(rig.stateDir, 'jobs.db'));
    const stale = await waitFor(() => { const j = db.activeJob(); return j && db.progress(j.job_id).completed >= 1 && j; }, 'the batch job under way', 120_000, 20);
    await cli.cleanup(); // kill -9 of its whole process group
    const auth = { authorization: `Bearer ${TOKEN}` };
    const blocked = await call(rig.url, 'POST', '/simulate/trigger', { config_path: 'pair.json', date_range: [DATES[0]] }, auth);
    expect(blocked.status).toBe(409);
    expect(blocked.body.detail).toMatch(/its process had died, so it is resumed here/);
    await waitFor(() => db.job(stale.job_id)?.status === 'completed', 'the adopted job completed', 120_000, 100);
    expect(db.progress(stale.job_id)).toMatchObject({ completed: 4, failed: 0 });
    expect(db.job(stale.job_id)?.owner_pid).toBe(api.child.pid);
    db.close();
    expect((await call(rig.url, 'POST', '/simulate/trigger', { config_path: 'pair.json', date_range: [DATES[0]] }, auth)).status).toBe(202);
  });
});
