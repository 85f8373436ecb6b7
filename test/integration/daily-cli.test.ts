import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICES } from '@dolphin/core';
import { freePort, REPO_ROOT } from '@dolphin/hz';
import { Ledger } from '@dolphin/ledger';
import { ControlClient } from '@dolphin/supervisor';
import { spawnCollecting, startTestSupervisor, waitFor } from '@dolphin/test-support';
import { apiRig, call, writeArchive, type ApiRig } from '../../services/jobs-api/test/rig.ts';

// `dolphin daily` and `dolphin jobs` as an operator (or the systemd unit) runs them: the CLI as a
// process, against a real jobs API process with its SQLite database, a real trader ledger file
// and archived scan files.

const TOKEN = 'the-daily-batch-token-1234';
const DATE = '2026-11-21';
const NS = (iso: string) => Date.parse(iso) * 1e6;
let rig: ApiRig;
let tokenFile: string;

/** The live trader's ledger of DATE: two round trips, and the posture APEX → TURTLE → APEX. */
function writeLedger(file: string): void {
  const ledger = new Ledger(file);
  type State = Parameters<Ledger['commit']>[0];
  type Order = Parameters<Ledger['commit']>[1][number];
  let n = 0;
  const step = (at: string, capital: number, orders: Array<Pick<Order, 'side' | 'reason' | 'price' | 'fee' | 'realized'>>, posture?: 'APEX' | 'TURTLE') => {
    n += 1;
    const state = { lastScanTsNs: NS(at), lastScanNumber: n, day: at.slice(0, 10), capital } as unknown as State;
    const full = orders.map((o) => ({ ...o, symbol: 'BTCUSDT', quantity: 0.05, notional: 0.05 * o.price, scanNumber: n, tsNs: NS(at) }) as Order);
    ledger.commit(state, full, 'vel-div-1', at, posture ? { posture, size_scale: posture === 'APEX' ? 1 : 0, ts: at } : undefined);
  };
  step('2026-11-20T23:00:00Z', 25_000, [], 'APEX');
  step(`${DATE}T01:00:00Z`, 24_998, [{ side: 'SELL', reason: 'entry', price: 100_000, fee: 2, realized: 0 }]);
  step(`${DATE}T01:10:00Z`, 24_946, [{ side: 'BUY', reason: 'stop_loss', price: 101_000, fee: 2, realized: -54 }]);
  step(`${DATE}T05:00:00Z`, 24_946, [], 'TURTLE');
  step(`${DATE}T09:00:00Z`, 24_944, [{ side: 'SELL', reason: 'entry', price: 100_000, fee: 2, realized: 0 }], 'APEX');
  step(`${DATE}T09:05:00Z`, 25_040, [{ side: 'BUY', reason: 'take_profit', price: 98_000, fee: 2, realized: 94 }]);
  ledger.close();
}

/** `dolphin daily|jobs …` as a process; env on top of the rig's configuration. */
async function dolphin(args: string[], env: Record<string, string> = {}) {
  const p = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'cli/src/main.ts'), ...args], {
    PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_CONFIG_DIR: rig.root, DOLPHIN_STATE_DIR: rig.stateDir,
    DOLPHIN__jobs__port: String(rig.port), DOLPHIN__jobs__configsDir: JSON.stringify(rig.configs), DOLPHIN__scans__dir: JSON.stringify(rig.scans),
    DOLPHIN__jobs__tokenFile: tokenFile, ...env,
  });
  const { code } = await p.exited;
  return { code, out: p.text.join('\n') };
}

beforeAll(async () => {
  rig = await apiRig();
  writeArchive(rig.scans, [DATE], 300, 60);
  writeFileSync(path.join(rig.configs, 'daily.json'), JSON.stringify({ inputs: { live: true }, models: [{ signature: 'base', strategy: {} }, { signature: 'tight', strategy: { stopLossPct: 0.003 } }] }));
  writeFileSync(path.join(rig.configs, 'broken.json'), JSON.stringify({ models: [{ signature: 'broken', strategy: { velDivThreshold: 0.5 } }] }));
  writeLedger(path.join(rig.stateDir, 'event-trader.db'));
  tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-daily-')), 'jobs.token');
  writeFileSync(tokenFile, TOKEN);
  chmodSync(tokenFile, 0o600);
  await rig.start({ DOLPHIN__jobs__tokenFile: tokenFile });
});

afterAll(async () => {
  await rig.cleanup();
});

describe('dolphin daily', () => {
  it('runs the configured backtest of the day, waits for it, stores the paper-trading report of the day; exit 0', async () => {
    const r = await dolphin(['daily', '--date', DATE]);
    expect(r.out).toMatch(/daily batch for 2026-11-21/);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/backtest +daily\.json, job \S+ completed/);
    expect(r.out).toMatch(/paper +2 trades, realized \+40\.00, fees 8\.00, max drawdown 56\.00/);
    expect(r.out).toMatch(/APEX → TURTLE at 05:00, TURTLE → APEX at 09:00/);
    const stored = await call(rig.url, 'GET', `/reports/${DATE}`);
    expect(stored.status).toBe(200);
    const job = stored.body.job as { status: string; config_path: string; date_range: string[]; models: string[] };
    expect(job).toMatchObject({ status: 'completed', config_path: 'daily.json', date_range: [DATE], models: ['base', 'tight'] });
    expect(stored.body.report).toMatchObject({ date: DATE, trades: 2, entries: 2, fees: 8, realized_pnl: 40, capital_start: 25_000, capital_end: 25_040, max_drawdown: 56 });
  });

  it('a backtest that fails: the report is stored all the same, and the exit is 1, saying why', async () => {
    const r = await dolphin(['daily', '--date', DATE], { DOLPHIN__jobs__daily__configPath: '"broken.json"' });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/backtest +broken\.json, job \S+ failed/);
    expect(r.out).toMatch(/the backtest of 2026-11-21 failed/);
    const stored = await call(rig.url, 'GET', '/reports');
    expect((stored.body.reports as Array<{ date: string; job_status: string }>)[0]).toMatchObject({ date: DATE, job_status: 'failed' });
  });

  it('the jobs API not answering: exit 69 with the address; a wrong token: 78; a bad date: 2; no ledger: 66', async () => {
    const nobody = await freePort();
    const down = await dolphin(['daily', '--date', DATE, '--wait-api', '1'], { DOLPHIN__jobs__port: String(nobody) });
    expect(down.code, down.out).toBe(69);
    expect(down.out).toMatch(new RegExp(`jobs API at http://127\\.0\\.0\\.1:${nobody} does not answer`));

    const wrong = path.join(path.dirname(tokenFile), 'wrong.token');
    writeFileSync(wrong, 'not-the-token-of-the-api');
    chmodSync(wrong, 0o600);
    const refused = await dolphin(['daily', '--date', DATE], { DOLPHIN__jobs__tokenFile: wrong });
    expect(refused.code, refused.out).toBe(78);
    expect(refused.out).toMatch(/answered 401/);

    const bad = await dolphin(['daily', '--date', '2026-02-30']);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/--date/);

    const empty = mkdtempSync(path.join(os.tmpdir(), 'dolphin-daily-state-'));
    const noLedger = await dolphin(['daily', '--date', DATE], { DOLPHIN_STATE_DIR: empty });
    expect(noLedger.code, noLedger.out).toBe(66);
    expect(noLedger.out).toContain(path.join(empty, 'event-trader.db'));
  });
});

describe('the daily entry of the registry under the supervisor (dolphin up)', () => {
  it('waits as scheduled; run now by hand (dolphin restart daily), it stores the day and exits 0, and is not started again', async () => {
    // The children's configuration as a file: the supervisor hands no child an environment variable named like a secret.
    const cfg = mkdtempSync(path.join(os.tmpdir(), 'dolphin-daily-cfg-'));
    mkdirSync(cfg, { recursive: true });
    writeFileSync(path.join(cfg, 'dolphin.json'), JSON.stringify({ jobs: { port: rig.port, configsDir: rig.configs, tokenFile } }));
    const s = await startTestSupervisor({ daily: { ...DEFAULT_SERVICES.daily, dependsOn: [] } }, { env: { DOLPHIN_CONFIG_DIR: cfg, DOLPHIN_STATE_DIR: rig.stateDir } });
    try {
      await s.supervisor.startAll();
      const control = ControlClient.fromRunFile(s.runFile)!;
      const before = (await control.status()).services[0]!;
      expect(before).toMatchObject({ name: 'daily', state: 'scheduled', schedule: { calendar: '*-*-* 00:15:00 UTC', persistent: true, randomizedDelaySec: 600 } });
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      expect((await control.act('daily', 'restart')).status).toBe(202);
      await waitFor(async () => (await control.status()).services[0]?.lastExit !== undefined, 'the daily run to end', 120_000);
      const after = (await control.status()).services[0]!;
      const log = readFileSync(after.logFile, 'utf8');
      expect(after.lastExit?.code, log).toBe(0);
      expect(after.state).toBe('scheduled');
      expect(log).toContain(`daily batch for ${yesterday}`);
      expect((await call(rig.url, 'GET', `/reports/${yesterday}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await control.status()).services[0]).toMatchObject({ state: 'scheduled', restarts: 1, lastExit: after.lastExit });
    } finally {
      await s.stop();
    }
  });
});

describe('dolphin jobs', () => {
  it('lists the recent jobs and day reports in two tables', async () => {
    const r = await dolphin(['jobs']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^jobs \(newest first/m);
    expect(r.out).toMatch(/completed +daily\.json +2026-11-21 +base,tight/);
    expect(r.out).toMatch(/^day reports/m);
    expect(r.out).toMatch(/2026-11-21 +2 +\+40\.00 +8\.00 +56\.00 \(0\.22 %\) +2 +\S+ failed/);
    const down = await dolphin(['jobs'], { DOLPHIN__jobs__port: String(await freePort()) });
    expect(down.code).toBe(69);
  });
});
