import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { heartbeatSchema, isoMicros, Keys, MapNames, traderMapNames, traderStateSchema, type ScanRecord } from '@dolphin/core';
import { openMap } from '@dolphin/hz';
import { Ledger, liveLedgerFile } from '@dolphin/ledger';
import { waitFor } from '@dolphin/test-support';
import { traderRig, zigzagScans } from './rig.ts';

// Two colours (trader.colour) on the same scans: each its own parameters, maps and ledger.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BASE_NS = Date.UTC(2026, 10, 24, 9, 0, 0) * 1e6;
const N = 30;
const BLUE = { initialCapital: 10_000, capitalFraction: 0.5, maxHoldMs: 5_000, cooldownAfterStopMs: 2_000, takeProfitPct: 0.008, stopLossPct: 0.006 };
const GREEN = { ...BLUE, initialCapital: 50_000, capitalFraction: 0.2 };

const scans = (): ScanRecord[] => zigzagScans(78, BASE_NS, N);

describe('trader colours', () => {
  it('BLUE and GREEN decide every scan side by side, each into its own maps and ledger, with its own parameters', async () => {
    const r = await traderRig('trader-colours');
    cleanups.push(() => r.cleanup());
    await r.setSafety('APEX', isoMicros(BASE_NS));
    const blueDir = path.join(r.root, 'blue');
    const greenDir = path.join(r.root, 'green');
    await r.startTrader({ stateDir: blueDir, strategy: BLUE });
    await r.startTrader({ stateDir: greenDir, strategy: GREEN, env: { DOLPHIN__trader__colour: 'GREEN' } });
    const rows = scans();
    for (const row of rows) {
      r.put(row);
      await new Promise((res) => setTimeout(res, 40));
    }
    const last = rows.at(-1)!.scan_number;
    const blueState = await openMap(r.conn, traderMapNames('BLUE').state, traderStateSchema);
    const greenState = await openMap(r.conn, traderMapNames('GREEN').state, traderStateSchema);
    await waitFor(async () => ((await blueState.get(Keys.STATE_LATEST))?.last_scan_number === last ? true : undefined), 'BLUE at the last scan', 30_000);
    await waitFor(async () => ((await greenState.get(Keys.STATE_LATEST))?.last_scan_number === last ? true : undefined), 'GREEN at the last scan', 30_000);

    // Each ledger in its own file; GREEN's is not in BLUE's folder and the other way round.
    expect(existsSync(liveLedgerFile(blueDir))).toBe(true);
    expect(existsSync(liveLedgerFile(greenDir, 'GREEN'))).toBe(true);
    expect(path.basename(liveLedgerFile(greenDir, 'GREEN'))).toBe('event-trader-green.db');
    expect(existsSync(liveLedgerFile(greenDir))).toBe(false);
    const blue = new Ledger(liveLedgerFile(blueDir));
    const green = new Ledger(liveLedgerFile(greenDir, 'GREEN'));
    cleanups.push(() => blue.close(), () => green.close());
    const blueFills = blue.fills();
    const greenFills = green.fills();
    // The same signals, so the same number of trades; different capital, so different sizes.
    expect(blueFills.length).toBeGreaterThan(0);
    expect(greenFills.map((f) => `${f.scan_number} ${f.side}`)).toEqual(blueFills.map((f) => `${f.scan_number} ${f.side}`));
    expect(greenFills[0]!.quantity).not.toBe(blueFills[0]!.quantity);
    expect((await greenState.get(Keys.STATE_LATEST))!.capital).not.toBe((await blueState.get(Keys.STATE_LATEST))!.capital);
    // Each its own heartbeat: GREEN does not overwrite BLUE's.
    const beats = await openMap(r.conn, MapNames.HEARTBEAT, heartbeatSchema);
    await waitFor(async () => ((await beats.get('event-trader-green'))?.state === 'running' ? true : undefined), "GREEN's heartbeat", 10_000);
    expect((await beats.get('event-trader'))?.pid).not.toBe((await beats.get('event-trader-green'))?.pid);
  });
});
