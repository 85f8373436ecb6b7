import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isoMicros } from '@dolphin/core';
import { Ledger, liveLedgerFile } from '@dolphin/ledger';
import { waitFor, type SpawnedProcess } from '@dolphin/test-support';
import { feed, traderRig, tradeLines, uninterruptedTrades, zigzagScans } from './rig.ts';

// Hot standbys: two traders of one colour (trader.standby), one deciding while it holds the
// colour's lease; the leader SIGKILLed mid-stream, the other takes the lease and the cluster's
// copy of the ledger and goes on. Its ledger is the one an uninterrupted trader would have.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, maxHoldMs: 5_000, cooldownAfterStopMs: 2_000, takeProfitPct: 0.008, stopLossPct: 0.006 };
const BASE_NS = Date.UTC(2026, 10, 26, 9, 0, 0) * 1e6;
const rows = zigzagScans(80, BASE_NS, 40);
const last = rows.at(-1)!.scan_number;
const STANDBY = { DOLPHIN__trader__standby: 'true', DOLPHIN__trader__leaseTtlMs: '1500' };
const elected = (p: SpawnedProcess) => p.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('elected: trading BLUE'));

describe('trader hot standbys', () => {
  it('the leader killed mid-stream: the standby takes over and ends with the uninterrupted ledger, each scan once', async () => {
    const want = await uninterruptedTrades('standby-ref', rows, STRATEGY, isoMicros(BASE_NS));
    expect(want.length).toBeGreaterThan(2);

    const r = await traderRig('standby');
    cleanups.push(() => r.cleanup());
    await r.setSafety('APEX', isoMicros(BASE_NS));
    const one = await r.startTrader({ stateDir: path.join(r.root, 'one'), strategy: STRATEGY, env: STANDBY });
    const two = await r.startTrader({ stateDir: path.join(r.root, 'two'), strategy: STRATEGY, env: STANDBY });
    const leader = await waitFor(async () => (elected(one) ? one : elected(two) ? two : undefined), 'a leader', 15_000);
    const standby = leader === one ? two : one;
    expect(elected(standby)).toBe(false);

    await feed(r, rows.slice(0, 20));
    await waitFor(async () => ((await r.state())?.last_scan_number === rows[19]!.scan_number ? true : undefined), 'the leader at scan 20', 30_000);
    const t0 = Date.now();
    process.kill(leader.child.pid as number, 'SIGKILL');
    await leader.exited;
    const feeding = feed(r, rows.slice(20));
    await waitFor(async () => (elected(standby) ? true : undefined), 'the standby elected', 15_000);
    console.info(`trader standby: elected ${Date.now() - t0} ms after the leader's SIGKILL (lease TTL 1.5 s)`);
    await feeding;
    await waitFor(async () => ((await r.state())?.last_scan_number === last ? true : undefined), 'the new leader at the last scan', 30_000);

    const survivor = new Ledger(liveLedgerFile(path.join(r.root, standby === one ? 'one' : 'two')));
    cleanups.push(() => survivor.close());
    expect(tradeLines(survivor.fills())).toEqual(want);
    expect(new Set(survivor.fills().map((f) => `${f.scan_number} ${f.side}`)).size).toBe(survivor.fills().length);
  });
});
