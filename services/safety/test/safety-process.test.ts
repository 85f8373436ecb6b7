import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  exfSchema, featureScanSchema, isoMicros, Keys, MapNames, safetySchema, sampleFeatureScan, traderStateSchema,
  type FeatureScan, type Posture,
} from '@dolphin/core';
import { openMap, REPO_ROOT, watchMap, type HzConnection } from '@dolphin/hz';
import { spawnCollecting, startTestMember, waitFor, testSeal } from '@dolphin/test-support';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CALM_MS = 800;
const SAFETY = {
  everyMs: 50, publishEveryMs: 400, calmMs: CALM_MS, scanStaleMs: 20_000, scanDeadMs: 60_000, stateStaleMs: 20_000, exfStaleMs: 20_000, fearConfirmMs: 0,
};
type Factors = { funding_btc: number | null; dvol_btc: number | null; fear_greed: number | null; taker_ratio: number | null };
const CALM_EXF: Factors = { funding_btc: 0.0001, dvol_btc: 40, fear_greed: 55, taker_ratio: 1.05 };
/** Four stress signals: negative funding, DVOL above 80 (two), sellers dominating. */
const STRESSED_EXF: Factors = { funding_btc: -0.0003, dvol_btc: 85, fear_greed: 55, taker_ratio: 0.7 };

async function setup() {
  const member = await startTestMember();
  cleanups.push(() => member.stop());
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-safety-'));
  // The feeds and trader states the test writes are sealed with the services' key: theirs to believe.
  const { keyFile, seal } = testSeal(root);
  const conn = await member.client(undefined, { seal });
  cleanups.push(() => conn.shutdown());
  const env = {
    PATH: process.env.PATH, HZ_MEMBERS: member.members.join(','), HZ_CLUSTER_NAME: member.clusterName, DOLPHIN_CONFIG_DIR: path.join(root, 'config'),
    DOLPHIN_STATE_DIR: path.join(root, 'state'), DOLPHIN__safety: JSON.stringify(SAFETY), DOLPHIN__security__keyFile: keyFile,
  };
  const start = (service: string, extra: Record<string, string> = {}) => {
    const p = spawnCollecting(process.execPath, [path.join(REPO_ROOT, `services/${service}/src/main.ts`)], { ...env, ...extra }, { ipc: true });
    cleanups.push(() => p.cleanup());
    const ready = new Promise<void>((resolve) => p.child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve()));
    return { ...p, ready };
  };
  return { conn, start };
}

/** Keeps exf_latest fresh with the values `exf.now` holds, as the indicators service would. */
async function feedExf(conn: HzConnection, exf: { now: Factors }) {
  const map = await openMap(conn, MapNames.FEATURES, exfSchema);
  const write = () => map.set(Keys.EXF_LATEST, { ...exf.now, _pushed_at: isoMicros() });
  await write();
  const t = setInterval(() => void write().catch(() => undefined), 200);
  cleanups.push(() => clearInterval(t));
}

/** Keeps a fresh scan and the trader's state (with `capital.now`) in the maps, as the bridge and trader would. */
async function feedScansAndState(conn: HzConnection, capital: { now: number }) {
  const scans = await openMap(conn, MapNames.FEATURES, featureScanSchema);
  const state = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
  const tick = async () => {
    await scans.set(Keys.LATEST_EIGEN_SCAN, { ...sampleFeatureScan, bridge_ts: isoMicros() });
    await state.set(Keys.STATE_LATEST, {
      capital: capital.now, open_positions: [], posture: 'APEX', last_scan_number: 1, algo_version: 'test', updated_at: isoMicros(), day_start_equity: 10_000, unrealized_pnl: 0,
    });
  };
  await tick();
  const feeder = setInterval(() => void tick().catch(() => undefined), 100);
  cleanups.push(() => clearInterval(feeder));
}

/** The distinct postures DOLPHIN_SAFETY["latest"] has shown, in order, with when each began. */
function recordPostures(conn: HzConnection) {
  const seen: Array<{ posture: Posture; at: number; reasons: string[] }> = [];
  const ready = openMap(conn, MapNames.SAFETY, safetySchema).then((map) => {
    const w = watchMap(conn, map, { key: Keys.SAFETY_LATEST, onUpdate: ({ value }) => {
      if (seen.at(-1)?.posture !== value.posture) seen.push({ posture: value.posture, at: Date.now(), reasons: value.reasons });
    } });
    cleanups.push(() => w.close());
    return w.ready;
  });
  return { seen, ready, now: () => seen.at(-1)?.posture };
}

describe('safety service (process, real member)', () => {
  it('walks APEX → STALKER → TURTLE → HIBERNATE as drawdown grows, back one calm step at a time, and does not flap at a threshold', async () => {
    const { conn, start } = await setup();
    await feedExf(conn, { now: CALM_EXF });
    const capital = { now: 10_000 };
    await feedScansAndState(conn, capital);
    const postures = recordPostures(conn);
    await postures.ready;
    start('safety');
    await waitFor(() => postures.now() === 'APEX', 'APEX with calm inputs', 30_000);

    for (const [cap, want] of [[9_700, 'STALKER'], [9_550, 'TURTLE'], [9_300, 'HIBERNATE']] as const) {
      capital.now = cap;
      await waitFor(() => postures.now() === want, `${want} at a drawdown of ${(10_000 - cap) / 100} %`);
    }
    expect(postures.seen.at(-1)?.reasons.join(' ')).toMatch(/drawdown/i);
    capital.now = 10_000;
    await waitFor(() => postures.now() === 'APEX', 'APEX again after the calm steps', 30_000);
    expect(postures.seen.map((s) => s.posture)).toEqual(['APEX', 'STALKER', 'TURTLE', 'HIBERNATE', 'TURTLE', 'STALKER', 'APEX']);
    // Each step back waited for its own calm period.
    const back = postures.seen.slice(3);
    for (let i = 1; i < back.length; i++) expect(back[i]!.at - back[i - 1]!.at).toBeGreaterThanOrEqual(CALM_MS - 100);

    // A drawdown sitting on the 2 % threshold: at most one change in three seconds.
    const before = postures.seen.length;
    for (let i = 0; i < 30; i++) {
      capital.now = i % 2 === 0 ? 9_801 : 9_799;
      await sleep(100);
    }
    expect(postures.seen.length - before).toBeLessThanOrEqual(1);
  });

  it('hot standbys: two evaluate, one publishes; the publisher killed, the other publishes within its lease', async () => {
    const { conn, start } = await setup();
    await feedExf(conn, { now: CALM_EXF });
    await feedScansAndState(conn, { now: 10_000 });
    const standby = { DOLPHIN__safety: JSON.stringify({ ...SAFETY, standby: true, leaseTtlMs: 1500 }) };
    const a = start('safety', standby);
    const b = start('safety', standby);
    await Promise.all([a.ready, b.ready]);
    const elected = (p: typeof a) => p.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('elected: publishing the posture'));
    const leader = await waitFor(() => (elected(a) ? a : elected(b) ? b : undefined), 'a publishing safety service', 15_000);
    const other = leader === a ? b : a;
    const map = await openMap(conn, MapNames.SAFETY, safetySchema);
    await waitFor(async () => (await map.get(Keys.SAFETY_LATEST)) ?? undefined, 'a posture published', 15_000);
    expect(elected(other)).toBe(false);
    process.kill(leader.child.pid as number, 'SIGKILL');
    const killedAt = Date.now();
    await leader.exited;
    await waitFor(() => (elected(other) ? true : undefined), 'the standby elected', 15_000);
    // It publishes at once when elected, not at its next change or period.
    const fresh = await waitFor(async () => {
      const v = await map.get(Keys.SAFETY_LATEST);
      return v && Date.parse(v.ts) > killedAt ? v : undefined;
    }, 'a posture written after the takeover', 15_000);
    console.info(`safety standby: posture ${fresh.posture} written ${Date.parse(fresh.ts) - killedAt} ms after the publisher's SIGKILL (lease TTL 1.5 s)`);
  });

  it('the event trader obeys it end to end: TURTLE opens nothing, APEX trades', async () => {
    const { conn, start } = await setup();
    const exf = { now: STRESSED_EXF };
    await feedExf(conn, exf);
    const postures = recordPostures(conn);
    await postures.ready;
    start('safety');
    const strategy = { initialCapital: 10_000, capitalFraction: 0.5, maxHoldMs: 600_000, takeProfitPct: 0.5, stopLossPct: 0.5 };
    const trader = start('event-trader', { DOLPHIN__trader__strategy: JSON.stringify(strategy) });
    await trader.ready;
    const scans = await openMap(conn, MapNames.FEATURES, featureScanSchema);
    const state = await openMap(conn, MapNames.STATE_BLUE, traderStateSchema);
    let n = 0;
    /** A scan stamped now, with an entry signal (vel_div −0.03) or without one. */
    const signalScan = async (velDiv = -0.03) => {
      n++;
      const ns = Date.now() * 1e6;
      const scan = { ...sampleFeatureScan, scan_number: n, timestamp_ns: ns, timestamp_iso: isoMicros(ns), timestamp: isoMicros(ns), bridge_ts: isoMicros(), w50_velocity: velDiv, w150_velocity: 0 } as FeatureScan;
      await scans.set(Keys.LATEST_EIGEN_SCAN, scan);
      return waitFor(async () => { const s = await state.get(Keys.STATE_LATEST); return s?.last_scan_number === n ? s : undefined; }, `scan ${n} decided`, 30_000);
    };

    // A quiet scan first: safety judges once it has seen scans, the trader's state and the factors.
    await signalScan(0);
    // Four stress signals: TURTLE, which only exits.
    await waitFor(() => postures.now() === 'TURTLE', 'TURTLE from four stress signals', 30_000);
    expect(postures.seen.at(-1)?.reasons.join(' ')).toMatch(/funding/);
    const blocked = await signalScan();
    expect(blocked.open_positions).toEqual([]);
    expect((blocked.entry_blocked as string[]).join(' ')).toMatch(/TURTLE/);

    // Stress gone: it steps back to APEX, and the same signal opens a SHORT.
    exf.now = CALM_EXF;
    await waitFor(() => postures.now() === 'APEX', 'APEX after the calm steps', 30_000);
    const traded = await signalScan();
    expect(traded.open_positions).toHaveLength(1);
    expect(traded.open_positions[0]?.side).toBe('SHORT');
    expect(traded.posture).toBe('APEX');
  });
});
