import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '@dolphin/ledger';
import { initialState, strategyParams } from '@dolphin/strategy';
import { waitFor } from '@dolphin/test-support';
import { apiRig, call, writeArchive, type ApiRig } from './rig.ts';

// Day reports (the daily batch) in the jobs database: a real API process, a real SQLite file,
// real HTTP, with the bearer token production needs.

const TOKEN = 'a-token-of-sixteen-or-more';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const DATE = '2026-11-21';
let rig: ApiRig;

const report = (date: string, over: Record<string, unknown> = {}) => ({
  date, trades: 2, entries: 2,
  fills: [
    { at: `${date}T01:00:00.000Z`, scan_number: 10, symbol: 'BTCUSDT', side: 'SELL', reason: 'entry', quantity: 0.05, price: 100_000, fee: 2, realized: 0, capital_after: 24_998 },
    { at: `${date}T01:05:00.000Z`, scan_number: 15, symbol: 'BTCUSDT', side: 'BUY', reason: 'take_profit', quantity: 0.05, price: 99_000, fee: 2, realized: 46, capital_after: 25_046 },
  ],
  realized_pnl: 46, fees: 4, capital_start: 25_000, capital_end: 25_046, max_drawdown: 2, max_drawdown_pct: 0.008,
  posture_at_start: { posture: 'APEX', size_scale: 1 },
  posture_changes: [{ at: `${date}T06:00:00.000Z`, from: 'APEX', to: 'TURTLE', size_scale: 0 }],
  ...over,
});

beforeAll(async () => {
  rig = await apiRig();
  writeArchive(rig.scans, [DATE], 300, 60);
  writeFileSync(path.join(rig.configs, 'daily.json'), JSON.stringify({ scans: rig.scans, models: [{ signature: 'base', strategy: {} }] }));
  // The live trader's ledger in the API's state folder: it decided the whole day at HIBERNATE.
  const live = path.join(rig.stateDir, 'event-trader.db');
  const P = strategyParams();
  const ledger = new Ledger(live);
  const state = { ...initialState(P), lastScanTsNs: Date.parse(`${DATE}T00:00:00Z`) * 1e6, lastScanNumber: 1 };
  ledger.commit(state, [], P.algoVersion, 'x', { posture: 'HIBERNATE', size_scale: 0, ts: `${DATE}T00:00:00Z` });
  ledger.close();
  for (const [name, inputs] of [['apex.json', undefined], ['named.json', { ledger: live }], ['live.json', { live: true }]] as const) {
    writeFileSync(path.join(rig.configs, name), JSON.stringify({ scans: rig.scans, ...(inputs ? { inputs } : {}), models: [{ signature: 'base', strategy: {} }] }));
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-jobs-token-'));
  const tokenFile = path.join(dir, 'jobs.token');
  writeFileSync(tokenFile, TOKEN);
  chmodSync(tokenFile, 0o600);
  await rig.start({ DOLPHIN__jobs__tokenFile: tokenFile });
});

afterAll(async () => {
  await rig.cleanup();
});

describe('day reports', () => {
  it('POST /reports/daily stores a day with its backtest; GET /reports lists it, GET /reports/:date gives it back with the job', async () => {
    const t = await call(rig.url, 'POST', '/simulate/trigger', { config_path: 'daily.json', date_range: [DATE] }, AUTH);
    expect(t.status).toBe(202);
    const jobId = t.body.job_id as string;
    await waitFor(async () => (await call(rig.url, 'GET', `/simulate/status/${jobId}`)).body.status === 'completed', 'the job completed', 60_000, 100);

    const put = await call(rig.url, 'POST', '/reports/daily', { job_id: jobId, report: report(DATE) }, AUTH);
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ date: DATE, kind: 'daily', job_id: jobId, replaced: false });

    const list = await call(rig.url, 'GET', '/reports');
    expect(list.body.count).toBe(1);
    expect((list.body.reports as unknown[])[0]).toMatchObject({
      date: DATE, kind: 'daily', job_id: jobId, job_status: 'completed', trades: 2, entries: 2, realized_pnl: 46, fees: 4, max_drawdown: 2, posture_changes: 1,
    });

    const one = await call(rig.url, 'GET', `/reports/${DATE}`);
    expect(one.status).toBe(200);
    expect(one.body.report).toEqual(report(DATE));
    expect(one.body.job).toMatchObject({ job_id: jobId, status: 'completed', config_path: 'daily.json', date_range: [DATE], models: ['base'] });
    expect((one.body.job as { summary: Array<{ model: string }> }).summary.map((m) => m.model)).toEqual(['base']);
  });

  it('the same day again replaces it (a rerun by hand): 200, one report, the newer job', async () => {
    const again = await call(rig.url, 'POST', '/reports/daily', { job_id: null, report: report(DATE, { trades: 3 }) }, AUTH);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ replaced: true, job_id: null });
    const list = await call(rig.url, 'GET', '/reports');
    expect(list.body.count).toBe(1);
    expect((list.body.reports as Array<{ trades: number; job_id: unknown; job_status: unknown }>)[0]).toMatchObject({ trades: 3, job_id: null, job_status: null });
    expect((await call(rig.url, 'GET', `/reports/${DATE}`)).body.job).toBeNull();
  });

  it('newest day first, and a limit', async () => {
    for (const d of ['2026-11-19', '2026-11-23', '2026-11-22']) expect((await call(rig.url, 'POST', '/reports/daily', { job_id: null, report: report(d) }, AUTH)).status).toBe(201);
    const list = await call(rig.url, 'GET', '/reports?limit=3');
    expect((list.body.reports as Array<{ date: string }>).map((r) => r.date)).toEqual(['2026-11-23', '2026-11-22', '2026-11-21']);
  });

  it('refuses: no token 401; a report that breaks the schema 422 naming the field; an unknown job 422; a bad or unknown date 422 / 404', async () => {
    expect((await call(rig.url, 'POST', '/reports/daily', { job_id: null, report: report(DATE) })).status).toBe(401);
    const bad = await call(rig.url, 'POST', '/reports/daily', { job_id: null, report: report(DATE, { fees: 'many' }) }, AUTH);
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toEqual([expect.objectContaining({ field: 'report.fees' })]);
    const extra = await call(rig.url, 'POST', '/reports/daily', { job_id: null, report: report(DATE), by: 'me' }, AUTH);
    expect(extra.status).toBe(422);
    const notADay = await call(rig.url, 'POST', '/reports/daily', { job_id: null, report: report('2026-02-30') }, AUTH);
    expect(notADay.status).toBe(422);
    const noJob = await call(rig.url, 'POST', '/reports/daily', { job_id: '00000000-0000-4000-8000-000000000000', report: report(DATE) }, AUTH);
    expect(noJob.status).toBe(422);
    expect(String(noJob.body.detail)).toMatch(/no job 00000000-0000-4000-8000-000000000000/);
    expect((await call(rig.url, 'GET', '/reports/yesterday')).status).toBe(422);
    expect((await call(rig.url, 'GET', '/reports/2020-01-01')).status).toBe(404);
    expect((await call(rig.url, 'GET', '/reports?limit=0')).status).toBe(422);
  });

  it('GET /jobs says what each job ran: config, dates, models', async () => {
    const jobs = (await call(rig.url, 'GET', '/jobs')).body.jobs as Array<Record<string, unknown>>;
    expect(jobs[0]).toMatchObject({ status: 'completed', config_path: 'daily.json', date_range: [DATE], models: ['base'] });
    expect(jobs[0]).toHaveProperty('started_at');
    expect(jobs[0]).toHaveProperty('error');
  });
});

describe('a backtest config\'s inputs.live', () => {
  const run = async (config: string) => {
    const t = await call(rig.url, 'POST', '/simulate/trigger', { config_path: config, date_range: [DATE] }, AUTH);
    expect(t.status).toBe(202);
    const id = t.body.job_id as string;
    await waitFor(async () => (await call(rig.url, 'GET', `/simulate/status/${id}`)).body.status === 'completed', `${config} completed`, 60_000, 100);
    const rows = (await call(rig.url, 'GET', `/results?job_id=${id}`)).body.results as Array<{ action: string; ts: string; reason: string | null }>;
    return rows.map((r) => `${r.action} ${r.ts}`);
  };

  it('decides with the posture the live trader of this install recorded (<stateDir>/event-trader.db), as naming that ledger does', async () => {
    const apex = await run('apex.json');
    const named = await run('named.json');
    const live = await run('live.json');
    expect(apex.some((r) => r.startsWith('sell'))).toBe(true); // without inputs: APEX, and it trades
    expect(named.some((r) => r.startsWith('sell'))).toBe(false); // HIBERNATE all day: no entry
    expect(live).toEqual(named);
  });
});
