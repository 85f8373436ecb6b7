import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMicros, Keys, MapNames, safetySchema, traderStateSchema, type Posture } from '@dolphin/core';
import { Ledger } from '@dolphin/ledger';
import { openMap, REPO_ROOT, type HzConnection } from '@dolphin/hz';
import { JobsDb } from '@dolphin/jobs-api';
import { spawnCollecting, startTestMember, startTestSupervisor, waitFor, type TestMember, type TestSupervisor } from '@dolphin/test-support';

// A live run (bridge, trader, the demo producer, a posture that changes under it), then a
// backtest over the very scan files it traded on, with the inputs its ledger recorded: the
// backtest's trades are the live ledger's, to the last digit.

const COUNT = 2_400;
// Quick exits, so that a short run makes many round trips; the backtest model uses the same.
const STRATEGY = { takeProfitPct: 0.0015, stopLossPct: 0.001, cooldownAfterStopMs: 0 };
let member: TestMember;
let conn: HzConnection;
let sup: TestSupervisor;
let scans: string;

beforeAll(async () => {
  member = await startTestMember();
  scans = mkdtempSync(path.join(os.tmpdir(), 'dolphin-parity-scans-'));
  sup = await startTestSupervisor({
    'scan-bridge': {},
    'event-trader': { dependsOn: ['scan-bridge'] },
    producer: {
      kind: 'command', command: [process.execPath, path.join(REPO_ROOT, 'cli/src/main.ts'), 'produce', '--rate', '80', '--count', String(COUNT), '--dir', scans],
      readiness: { kind: 'none' }, heartbeat: false, restart: { mode: 'never' }, dependsOn: ['event-trader'],
    },
  }, { env: { HZ_MEMBERS: member.members.join(','), HZ_CLUSTER_NAME: member.clusterName, DOLPHIN__scans__dir: JSON.stringify(scans), DOLPHIN__trader__strategy: JSON.stringify(STRATEGY) } });
  // The postures the test sets are sealed with the services' key: the trader believes only those.
  conn = await member.client(undefined, { seal: sup.seal });
});

afterAll(async () => {
  await sup?.stop();
  await member?.stop();
});

describe('backtest parity', () => {
  it('a backtest over a live run\'s scan files, with its recorded inputs, makes exactly its trades', async () => {
    const safety = await openMap(conn, MapNames.SAFETY, safetySchema);
    const state = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
    // The posture moves while the trader trades: entries at full size, at half, none, and back.
    const postures: Array<[Posture, number]> = [['APEX', 1], ['STALKER', 0.5], ['HIBERNATE', 0], ['APEX', 0.8]];
    let turn = 0;
    const setPosture = () => {
      const [posture, size] = postures[turn++ % postures.length] as [Posture, number];
      return safety.set(Keys.SAFETY_LATEST, { posture, size_scale: size, reasons: ['parity test'], ts: isoMicros() });
    };
    await setPosture();
    const mover = setInterval(() => void setPosture().catch(() => undefined), 4_000);
    try {
      await sup.supervisor.startAll();
      await waitFor(async () => (await state.get(Keys.STATE_LATEST))?.last_scan_number === COUNT, 'the trader deciding the last scan', 90_000, 200);
    } finally {
      clearInterval(mover);
    }
    await sup.supervisor.stopAll();
    const ledgerFile = path.join(sup.stateDir, 'event-trader.db');
    const ledger = new Ledger(ledgerFile);
    const live = ledger.fills();
    const inputs = ledger.inputs();
    ledger.close();
    expect(live.length).toBeGreaterThanOrEqual(6);
    expect(new Set(inputs.map((i) => i.safety.posture)).size).toBeGreaterThan(1); // the changes were recorded

    const configs = mkdtempSync(path.join(os.tmpdir(), 'dolphin-parity-cfg-'));
    const config = path.join(configs, 'live.json');
    writeFileSync(config, JSON.stringify({ scans, inputs: { ledger: ledgerFile }, models: [{ signature: 'live', strategy: STRATEGY }] }));
    const dates = readdirSync(scans).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
    const refState = mkdtempSync(path.join(os.tmpdir(), 'dolphin-parity-state-'));
    const cli = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), ['backtest', '--config', config, '--dates', dates.join(','), '--json'], {
      PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN_CONFIG_DIR: configs, DOLPHIN_STATE_DIR: refState,
    });
    expect((await cli.exited).code, cli.text.join('\n')).toBe(0);
    const { job_id: jobId } = JSON.parse(cli.text.join('\n')) as { job_id: string };
    const db = new JobsDb(path.join(refState, 'jobs.db'));
    const backtest = db.results({ jobId }).filter((r) => r.action !== 'no_trade');
    db.close();
    const asLive = backtest.map((r) => ({ scan_number: r.scan_number, side: r.action === 'sell' ? 'SELL' : 'BUY', reason: r.reason, quantity: r.amount, price: r.price, fee: r.fee, realized: r.realized }));
    const liveRows = live.map((f) => ({ scan_number: f.scan_number, side: f.side, reason: f.reason, quantity: f.quantity, price: f.price, fee: f.fee, realized: f.realized }));
    expect(asLive).toEqual(liveRows);
  });
});
