import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isoMicros, type ScanRecord } from '@dolphin/core';
import { waitFor } from '@dolphin/test-support';
import { Ledger } from '@dolphin/ledger';
import { traderRig, zigzagScans } from './rig.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, maxHoldMs: 5_000, cooldownAfterStopMs: 2_000, takeProfitPct: 0.008, stopLossPct: 0.006 };
const BASE_NS = Date.UTC(2026, 10, 24, 9, 0, 0) * 1e6;
const N = 40;

/** The same 40 scans for every run: fixed times, a price path with rallies and drops, regular signals. */
const scans = (): ScanRecord[] => zigzagScans(77, BASE_NS, N);

interface RunResult {
  fills: Array<Record<string, unknown>>;
  capital: number;
}

/** One run: a fresh member, the bridge in this process, the trader as its own process. */
async function run(killAfter?: number): Promise<RunResult> {
  const r = await traderRig('trader-kill');
  cleanups.push(() => r.cleanup());
  await r.setSafety('APEX', isoMicros(BASE_NS));
  const stateDir = path.join(r.root, 'trader');
  const startTrader = () => r.startTrader({ stateDir, strategy: STRATEGY });
  const decidedUpTo = async () => (await r.state())?.last_scan_number ?? 0;

  let trader = await startTrader();
  const rows = scans();
  for (const [i, row] of rows.entries()) {
    r.put(row);
    await new Promise((res) => setTimeout(res, 40));
    if (killAfter !== undefined && i === killAfter) {
      await waitFor(async () => (await decidedUpTo()) >= rows[killAfter]!.scan_number, 'the trader to reach the kill point');
      process.kill(trader.child.pid as number, 'SIGKILL');
      await trader.exited;
    }
    if (killAfter !== undefined && i === killAfter + 10) {
      trader = await startTrader(); // ten scans were published while it was dead
    }
  }
  await waitFor(async () => (await decidedUpTo()) === rows.at(-1)!.scan_number, 'the last scan decided', 30_000);
  if (killAfter !== undefined) {
    // The restarted trader found what it missed (in the scan files and the history) and decided it in order.
    const caughtUp = trader.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('missed while the trader was down'));
    expect(caughtUp?.scans).toBeGreaterThanOrEqual(5);
  }
  process.kill(trader.child.pid as number, 'SIGTERM');
  expect((await trader.exited).code).toBe(0);
  const ledger = new Ledger(path.join(stateDir, 'event-trader.db'));
  const result = {
    fills: ledger.fills().map(({ id: _id, capital_after: _c, ...f }) => f),
    capital: ledger.state()!.capital,
  };
  ledger.close();
  return result;
}

describe('event-trader process', () => {
  it('killed with SIGKILL between scans and restarted: no trade lost, none doubled, the same capital as a run without the kill', async () => {
    const clean = await run();
    expect(clean.fills.length).toBeGreaterThanOrEqual(4); // the series trades: entries and exits
    expect(new Set(clean.fills.map((f) => f.reason))).toContain('entry');
    const killed = await run(14);
    expect(killed.fills).toEqual(clean.fills);
    expect(killed.capital).toBe(clean.capital);
  });
});
