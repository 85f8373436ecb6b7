import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isoMicros } from '@dolphin/core';
import { openMap } from '@dolphin/hz';
import { clusterLedgerEntrySchema, Ledger, liveLedgerFile } from '@dolphin/ledger';
import { waitFor } from '@dolphin/test-support';
import { feed, traderRig, tradeLines as trades, uninterruptedTrades, zigzagScans } from './rig.ts';

// The ledger outlives its host: each decision is copied into the cluster (DOLPHIN_LEDGER_BLUE)
// after the local commit; a trader with an empty state folder (another host) takes the copy and
// goes on from it, and its ledger is the one an uninterrupted trader would have.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, maxHoldMs: 5_000, cooldownAfterStopMs: 2_000, takeProfitPct: 0.008, stopLossPct: 0.006 };
const BASE_NS = Date.UTC(2026, 10, 25, 9, 0, 0) * 1e6;
const N = 40;

const scans = () => zigzagScans(79, BASE_NS, N);

describe('the ledger in the cluster', () => {
  it('a trader on an empty state folder takes the cluster copy and ends with the uninterrupted ledger', async () => {
    const rows = scans();
    const last = rows.at(-1)!.scan_number;

    const want = await uninterruptedTrades('ledger-ref', rows, STRATEGY, isoMicros(BASE_NS));
    expect(want.length).toBeGreaterThan(2);

    // Host A decides the first 25 scans and dies; host B (nothing on its disk) goes on.
    const r = await traderRig('ledger-move');
    cleanups.push(() => r.cleanup());
    await r.setSafety('APEX', isoMicros(BASE_NS));
    const a = await r.startTrader({ stateDir: path.join(r.root, 'host-a'), strategy: STRATEGY });
    await feed(r, rows.slice(0, 25));
    await waitFor(async () => ((await r.state())?.last_scan_number === rows[24]!.scan_number ? true : undefined), 'A at scan 25', 30_000);
    const copy = await openMap(r.conn, 'DOLPHIN_LEDGER_BLUE', clusterLedgerEntrySchema);
    expect((await copy.get('state'))?.kind).toBe('state');
    process.kill(a.child.pid as number, 'SIGKILL');
    await a.exited;

    const bDir = path.join(r.root, 'host-b');
    const b = await r.startTrader({ stateDir: bDir, strategy: STRATEGY });
    expect(b.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith("ledger brought up to the cluster's copy"))).toBe(true);
    await feed(r, rows.slice(25));
    await waitFor(async () => ((await r.state())?.last_scan_number === last ? true : undefined), 'B at the last scan', 30_000);
    const got = new Ledger(liveLedgerFile(bDir));
    cleanups.push(() => got.close());
    expect(trades(got.fills())).toEqual(want);
    // Each scan once: no fill twice, the decided count of the whole run.
    expect(new Set(got.fills().map((f) => `${f.scan_number} ${f.side}`)).size).toBe(got.fills().length);
  });
});
