import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keys, type ScanRecord } from '@dolphin/core';
import { scanFilePath, ScanGenerator } from '@dolphin/scanfile';
import { waitFor } from '@dolphin/test-support';
import { Ledger } from '@dolphin/ledger';
import { traderRig, type TraderRig } from './rig.ts';

// Scans the trader never received: found in the scan files and decided in order, or recorded.

let rig: TraderRig | undefined;
afterEach(async () => {
  await rig?.cleanup();
});

const STRATEGY = { initialCapital: 10_000, capitalFraction: 0.5, takeProfitPct: 0.01, stopLossPct: 0.02, cooldownAfterStopMs: 0 };
const N = 40;

/** 40 scans a second apart, ending now: an entry signal at #20 and a drop to its take-profit at #25; nothing else trades. */
function scans(): ScanRecord[] {
  const gen = new ScanGenerator({ seed: 91 });
  const base = Date.now() * 1e6 - N * 1e9;
  return Array.from({ length: N }, (_, i) => {
    const s = gen.next(base + i * 1e9);
    const n = i + 1;
    const btc = s.assets.indexOf('BTCUSDT');
    const price = n >= 25 ? 97_000 : 100_000;
    return { ...s, scan_number: n, w50_velocity: s.w150_velocity + (n === 20 ? -0.03 : 0.01), asset_prices: s.asset_prices.map((p, j) => (j === btc ? price : p)) } as ScanRecord;
  });
}

describe('event-trader: scans it never received', () => {
  it('scans published while the trader was down, then the member restarted (map and history gone): every one is decided in order from the files; three quarantined ones are recorded as a gap with their reason', async () => {
    const r = (rig = await traderRig('trader-gaps'));
    await r.setSafety();
    const stateDir = path.join(r.root, 'trader');
    const rows = scans();

    let trader = await r.startTrader({ stateDir, strategy: STRATEGY });
    for (const row of rows.slice(0, 10)) {
      r.put(row);
      await new Promise((res) => setTimeout(res, 30));
    }
    await waitFor(async () => (await r.state())?.last_scan_number === 10, 'the trader to decide #10');
    process.kill(trader.child.pid as number, 'SIGKILL');
    await trader.exited;

    for (const row of rows.slice(10)) {
      if (row.scan_number >= 15 && row.scan_number <= 17) {
        // Three files nobody can read: the bridge quarantines them, so no source has these scans.
        const f = scanFilePath(r.scanDir, row.scan_number, row.timestamp_ns);
        mkdirSync(path.dirname(f), { recursive: true });
        writeFileSync(f, 'not a scan file\n');
      } else {
        r.put(row);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    await waitFor(async () => (await r.features.get(Keys.LATEST_EIGEN_SCAN))?.scan_number === N, 'the bridge to publish #40');
    await r.bridge.settle();
    // Then the member restarts, still while the trader is down: the map and the scan history are gone.
    await r.restartMember();
    await waitFor(() => r.conn.isConnected(), 'the test client to reconnect', 30_000);
    await r.setSafety();

    trader = await r.startTrader({ stateDir, strategy: STRATEGY });
    await waitFor(async () => (await r.state())?.last_scan_number === N, 'the trader to decide #40', 30_000);
    const filled = await trader.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('missed while the trader was down'), 'the catch-up');
    expect(filled.from_files).toBe(N - 10 - 3); // #11–#40 less the three unreadable
    const gapLine = await trader.waitForLog((l) => l.missing === 3, 'the gap said');
    expect(gapLine.msg).toMatch(/3 scan\(s\) between #14 and #18 could not be decided/);
    expect((await r.state())?.scans_missed).toBe(3);
    process.kill(trader.child.pid as number, 'SIGTERM');
    expect((await trader.exited).code).toBe(0);

    const ledger = new Ledger(path.join(stateDir, 'event-trader.db'));
    try {
      // The entry at #20 and its take-profit at #25 were both in the outage: decided, in order.
      expect(ledger.fills().map((f) => `${f.scan_number}:${f.reason}`)).toEqual(['20:entry', '25:take_profit']);
      expect(ledger.tally().decided).toBe(N - 3);
      const gaps = ledger.gaps();
      expect(gaps.map((g) => [g.after_scan_number, g.before_scan_number, g.missing])).toEqual([[14, 18, 3]]);
      expect(gaps[0]!.reason).toMatch(/scan 15 quarantined, DOLPHIN_SCANFILE_NOT_ARROW/);
      expect(gaps[0]!.reason).toMatch(/scan 17 quarantined, DOLPHIN_SCANFILE_NOT_ARROW/);
    } finally {
      ledger.close();
    }
  });
});
