import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@dolphin/test-support';
import { apiRig, call, writeArchive, type ApiRig } from './rig.ts';

// The jobs API as a process, on a real SQLite file, over real scan files, through real HTTP.

const DATES = ['2026-11-20', '2026-11-21', '2026-11-22'];
let rig: ApiRig;
let secret: string;

type Job = { job_id: string; status: string; progress: { total_model_days: number; completed: number; failed: number; pending: number }; details: Array<{ date: string; model: string; status: string; started_at: string; completed_at: string; error: string | null }> };

beforeAll(async () => {
  rig = await apiRig();
  writeArchive(rig.scans, DATES, 1_500, 20);
  writeFileSync(path.join(rig.configs, 'three.json'), JSON.stringify({
    scans: rig.scans,
    models: [
      { signature: 'base', strategy: {} },
      { signature: 'tight', strategy: { stopLossPct: 0.002, takeProfitPct: 0.004 } },
      { signature: 'broken', enabled: false, strategy: { velDivThreshold: 0.5 } },
    ],
  }));
  // A secret next to the configs folder, and a link to it from inside: neither may be read.
  secret = path.join(rig.root, 'secret.json');
  writeFileSync(secret, JSON.stringify({ models: [{ signature: 'x' }] }));
  symlinkSync(secret, path.join(rig.configs, 'link-out.json'));
  await rig.start();
});

afterAll(async () => {
  await rig.cleanup();
});

const trigger = (body: unknown, headers?: Record<string, string>) => call(rig.url, 'POST', '/simulate/trigger', body, headers);
const status = async (id: string) => (await call(rig.url, 'GET', `/simulate/status/${id}`)).body as unknown as Job;
const until = (id: string, done: (j: Job) => boolean, what: string) => waitFor(async () => { const j = await status(id); return done(j) && j; }, what, 60_000, 100);

describe('jobs API', () => {
  it('trigger → 202, status from pending to completed, results and a summary per model', async () => {
    const r = await trigger({ config_path: 'three.json', date_range: [DATES[1], DATES[0], DATES[2], DATES[0]] });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'pending', total_model_days: 6 }); // three dates × the two enabled models
    const id = r.body.job_id as string;
    const job = await until(id, (j) => j.status === 'completed', 'the job completed');
    expect(job.progress).toMatchObject({ total_model_days: 6, completed: 6, failed: 0, pending: 0 });
    expect(job.details.map((d) => `${d.date}/${d.model}`)).toEqual(DATES.flatMap((d) => [`${d}/base`, `${d}/tight`]));

    // Dates one after another, models side by side: every model-day of a date ends before the next date's first starts.
    for (let i = 1; i < DATES.length; i++) {
      const prevEnd = Math.max(...job.details.filter((d) => d.date === DATES[i - 1]).map((d) => Date.parse(d.completed_at)));
      const nextStart = Math.min(...job.details.filter((d) => d.date === DATES[i]).map((d) => Date.parse(d.started_at)));
      expect(nextStart).toBeGreaterThanOrEqual(prevEnd);
    }
    const sameDate = job.details.filter((d) => d.date === DATES[0]).map((d) => [Date.parse(d.started_at), Date.parse(d.completed_at)] as const);
    expect(Math.max(sameDate[0]![0], sameDate[1]![0])).toBeLessThan(Math.min(sameDate[0]![1], sameDate[1]![1])); // they overlapped

    const all = await call(rig.url, 'GET', `/results?job_id=${id}`);
    const rows = all.body.results as Array<{ action: string; model: string; date: string; holdings: unknown[]; amount: number; cash: number; portfolio_value: number; daily_return_pct: number }>;
    expect(all.body.count).toBe(rows.length);
    expect(rows.some((x) => x.action === 'sell') && rows.some((x) => x.action === 'buy')).toBe(true);
    const sell = rows.find((x) => x.action === 'sell')!;
    expect(sell.holdings).toEqual([expect.objectContaining({ symbol: 'BTCUSDT', side: 'SHORT' })]);
    const one = await call(rig.url, 'GET', `/results?job_id=${id}&date=${DATES[1]}&model=tight`);
    expect((one.body.results as unknown[]).length).toBeGreaterThan(0);
    expect((one.body.results as Array<{ date: string; model: string }>).every((x) => x.date === DATES[1] && x.model === 'tight')).toBe(true);

    const summary = await call(rig.url, 'GET', `/results/summary?job_id=${id}`);
    const models = summary.body.models as Array<{ model: string; days: number; trades: number; fees: number; sharpe: number | null; max_drawdown_pct: number; win_rate: number | null }>;
    expect(models.map((m) => m.model)).toEqual(['base', 'tight']);
    for (const m of models) {
      expect(m.days).toBe(3);
      expect(m.trades).toBe(rows.filter((x) => x.model === m.model && x.action === 'buy').length);
      expect(m.fees).toBeGreaterThan(0);
      expect(m.sharpe).not.toBeNull();
    }
  });

  it('the same dates and models again while it runs → 200 with that job; others → 409; a new one once it ends', async () => {
    const body = { config_path: 'three.json', date_range: DATES, models: ['base'] };
    const first = await trigger(body);
    expect(first.status).toBe(202);
    const again = await trigger({ ...body, models: ['base', 'base'] });
    expect(again.status).toBe(200);
    expect(again.body.job_id).toBe(first.body.job_id);
    expect(again.body.progress).toMatchObject({ total_model_days: 3 });
    const other = await trigger({ ...body, models: ['tight'] });
    expect(other.status).toBe(409);
    expect(other.body.detail).toMatch(/already running/);
    await until(first.body.job_id as string, (j) => j.status === 'completed', 'the first job done');
    const next = await trigger({ ...body, models: ['tight'] });
    expect(next.status).toBe(202);
    await until(next.body.job_id as string, (j) => j.status === 'completed', 'the next job done');
  });

  it('two triggers at the same instant: one 202, the other 200 or 409 — never two jobs', async () => {
    const [a, b] = await Promise.all([
      trigger({ config_path: 'three.json', date_range: [DATES[0]], models: ['base'] }),
      trigger({ config_path: 'three.json', date_range: [DATES[0]], models: ['tight'] }),
    ]);
    const codes = [a.status, b.status].sort();
    expect(codes).toEqual([202, 409]);
    const won = (a.status === 202 ? a : b).body.job_id as string;
    await until(won, (j) => j.status === 'completed', 'the winner done');
  });

  it('a model whose config makes it fail: partial, with its error, the other model completed', async () => {
    const r = await trigger({ config_path: 'three.json', date_range: DATES.slice(0, 2), models: ['base', 'broken'] });
    expect(r.status).toBe(202);
    const job = await until(r.body.job_id as string, (j) => j.status !== 'pending' && j.status !== 'running', 'the job ended');
    expect(job.status).toBe('partial');
    expect(job.progress).toMatchObject({ completed: 2, failed: 2 });
    const broken = job.details.filter((d) => d.model === 'broken');
    expect(broken[0]?.error).toMatch(/invalid strategy: velDivThreshold/);
    expect(broken[1]?.error).toMatch(/did not complete: nothing to start this day from/);
    expect(job.details.filter((d) => d.model === 'base').every((d) => d.status === 'completed')).toBe(true);
  });

  it('refuses bad requests with the status and a detail that says why', async () => {
    expect((await call(rig.url, 'GET', '/simulate/status/no-such-job')).status).toBe(404);
    expect((await call(rig.url, 'GET', '/results?job_id=no-such-job')).status).toBe(404);
    const missing = await trigger({ config_path: 'nope.json', date_range: [DATES[0]] });
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toMatch(/does not exist/);
    const unknownModel = await trigger({ config_path: 'three.json', date_range: [DATES[0]], models: ['gpt-5'] });
    expect(unknownModel.status).toBe(400);
    expect(unknownModel.body.detail).toMatch(/has no model "gpt-5"; it has: base, tight, broken/);
    const badBody = await trigger({ config_path: 'three.json', date_range: ['2026-02-30', 'yesterday'], extra: 1 });
    expect(badBody.status).toBe(422);
    expect((badBody.body.detail as Array<{ field: string }>).map((d) => d.field).sort()).toEqual(['(body)', 'date_range.0', 'date_range.1']);
    const noDates = await trigger({ config_path: 'three.json' });
    expect(noDates.status).toBe(422);
    expect(noDates.body.detail).toEqual([expect.objectContaining({ field: 'date_range' })]);
    expect((await call(rig.url, 'GET', '/results/summary')).status).toBe(422);
  });

  it('path traversal, absolute paths and links out are refused without being read', async () => {
    for (const config_path of ['../secret.json', 'sub/../../secret.json', secret, 'link-out.json']) {
      const r = await trigger({ config_path, date_range: [DATES[0]] });
      expect(r.status, config_path).toBe(400);
      expect(r.body.detail, config_path).toMatch(/not allowed/);
    }
  });

  it('malformed and oversized bodies are refused before anything is read', async () => {
    const broken = await trigger('{"config_path": "three.json", ');
    expect(broken.status).toBe(400);
    expect(broken.body.detail).toMatch(/not valid JSON/);
    const huge = await trigger({ config_path: 'three.json', date_range: [DATES[0]], models: Array.from({ length: 5_000 }, (_, i) => `m${i}`) });
    expect(huge.status).toBe(413);
    const text = await fetch(`${rig.url}/simulate/trigger`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
  });

  it('health and Prometheus metrics', async () => {
    const h = await call(rig.url, 'GET', '/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'healthy', database: 'ok' });
    const m = await (await fetch(`${rig.url}/metrics`)).text();
    expect(m).toMatch(/^dolphin_jobs\{[^}]*status="completed"[^}]*\} [1-9]/m);
    expect(m).toMatch(/^dolphin_model_day_duration_seconds_count\{[^}]*status="completed"[^}]*\} [1-9]/m);
    expect(m).toMatch(/^dolphin_job_duration_seconds_bucket/m);
    expect(m).toMatch(/^process_resident_memory_bytes/m);
  });
});
