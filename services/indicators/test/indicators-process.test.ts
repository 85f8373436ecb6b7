import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assetObEntrySchema, esofSchema, exfSchema, heartbeatSchema, Keys, MapNames, obFeaturesSchema } from '@dolphin/core';
import { openMap, REPO_ROOT } from '@dolphin/hz';
import { spawnCollecting, startTestMember, waitFor } from '@dolphin/test-support';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A local stand-in for a funding endpoint whose health the test switches. */
async function fundingServer(): Promise<{ url: string; mode: { now: 'ok' | '500' | 'garbage' | 'hang' }; server: Server }> {
  const mode = { now: 'ok' as 'ok' | '500' | 'garbage' | 'hang' };
  let n = 0;
  const server = createServer((_req, res) => {
    n++;
    if (mode.now === 'hang') return; // never answers
    if (mode.now === '500') return void res.writeHead(500).end('upstream down');
    if (mode.now === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"lastFundingRate": ');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ symbol: 'BTCUSDT', lastFundingRate: (-0.0002 - n * 1e-7).toFixed(8), time: Date.now() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fapi/v1/premiumIndex?symbol=BTCUSDT`, mode, server };
}

async function setup() {
  const member = await startTestMember();
  cleanups.push(() => member.stop());
  const conn = await member.client();
  cleanups.push(() => conn.shutdown());
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-indicators-'));
  const start = (indicators: unknown, args: string[] = []) => {
    const p = spawnCollecting(process.execPath, [path.join(REPO_ROOT, 'services/indicators/src/main.ts'), ...args], {
      PATH: process.env.PATH, HZ_MEMBERS: member.members.join(','), HZ_CLUSTER_NAME: member.clusterName, DOLPHIN_CONFIG_DIR: path.join(root, 'config'),
      DOLPHIN_STATE_DIR: path.join(root, 'state'), DOLPHIN__indicators: JSON.stringify(indicators), DOLPHIN__heartbeat__intervalMs: '200',
    });
    cleanups.push(() => p.cleanup());
    return p;
  };
  return { conn, start };
}

describe('indicator publishers (process, real member, local HTTP server)', () => {
  it('publish every key on schedule with valid values, and a broken source ages instead of crashing', async () => {
    const { conn, start } = await setup();
    const http = await fundingServer();
    const proc = start({
      fetch: { timeoutMs: 300, attempts: 2, backoff: { initialMs: 20, maxMs: 40 }, breaker: { failureThreshold: 3, openMs: 1_000 } },
      funding_btc: { everyMs: 200, provider: { kind: 'http', preset: 'binance-funding', url: http.url } },
      dvol_btc: { everyMs: 200, provider: { kind: 'replay', file: 'services/indicators/data/dvol_btc.csv' } },
      fear_greed: { everyMs: 300, provider: { kind: 'synthetic', seed: 3 } },
      taker_ratio: { everyMs: 200, provider: { kind: 'synthetic', seed: 4 } },
      exfPublishMs: 200,
      ob: { everyMs: 200, symbols: ['BTCUSDT', 'ETHUSDT'], provider: { kind: 'replay', file: 'services/indicators/data/books.jsonl' } },
      esof: { everyMs: 200 },
    });
    const exf = await openMap(conn, MapNames.FEATURES, exfSchema);
    const ob = await openMap(conn, MapNames.FEATURES, obFeaturesSchema);
    const asset = await openMap(conn, MapNames.FEATURES, assetObEntrySchema);
    const esof = await openMap(conn, MapNames.FEATURES, esofSchema);

    // Every key appears, valid (the typed maps validate on read), funding from the local server.
    const first = await waitFor(async () => {
      const v = await exf.get(Keys.EXF_LATEST);
      return v && v.funding_btc !== null && v.dvol_btc !== null && v.fear_greed !== null && v.taker_ratio !== null ? v : undefined;
    }, 'exf_latest with every field', 30_000);
    expect(first.funding_btc).toBeLessThan(-0.0002);
    const obv = await waitFor(() => ob.get(Keys.OB_FEATURES_LATEST).then((v) => (v?.BTCUSDT && v.ETHUSDT ? v : undefined)), 'ob_features_latest');
    expect(obv.BTCUSDT?.bid_notional).toHaveLength(5);
    expect((await waitFor(() => asset.get('asset_ETHUSDT_ob'), 'asset_ETHUSDT_ob')).ask_depth).toHaveLength(5);
    const e1 = await waitFor(() => esof.get(Keys.ESOF_LATEST), 'esof_latest');
    expect(e1.session).toMatch(/^(asia|london|new_york|after_hours)$/);

    // On schedule: esof every 200 ms → its _pushed_at moves on several times in two seconds.
    const seen = new Set<string>();
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      seen.add((await esof.get(Keys.ESOF_LATEST))?._pushed_at ?? '');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.size).toBeGreaterThanOrEqual(5);

    // The funding source breaks three ways: its value stays, its error shows, and exf_latest's
    // _pushed_at stops moving (health sees the staleness), while the other fields go on.
    for (const mode of ['500', 'garbage', 'hang'] as const) {
      http.mode.now = mode;
      const broken = await waitFor(async () => {
        const v = await exf.get(Keys.EXF_LATEST);
        return v && typeof (v._errors as Record<string, string> | undefined)?.funding_btc === 'string' ? v : undefined;
      }, `the funding error (${mode}) in exf_latest`, 15_000);
      const err = (broken._errors as Record<string, string>).funding_btc as string;
      expect(err).toMatch(mode === '500' ? /HTTP 500/ : mode === 'garbage' ? /not JSON/ : /timed out/);
      const stale = await waitFor(async () => {
        const v = await exf.get(Keys.EXF_LATEST);
        return v && Date.now() - Date.parse(v._pushed_at) > 1_500 ? v : undefined;
      }, `exf_latest to age while funding is broken (${mode})`, 15_000);
      expect(stale.funding_btc).toBeLessThan(-0.0002); // the last good value, not a made-up one
      const dvolAt = (stale._at as Record<string, string>).dvol_btc as string;
      await waitFor(async () => ((await exf.get(Keys.EXF_LATEST))?._at as Record<string, string>).dvol_btc !== dvolAt, 'dvol to keep refreshing');
      http.mode.now = 'ok';
      await waitFor(async () => {
        const v = await exf.get(Keys.EXF_LATEST);
        return v && Date.now() - Date.parse(v._pushed_at) < 1_000 && !(v._errors as Record<string, string>).funding_btc;
      }, `exf_latest fresh again after ${mode}`, 20_000);
    }
    expect(proc.child.exitCode).toBeNull();
    const breakerLog = proc.logs.find((l) => l.msg === 'indicator refresh failed; its value is kept but ages (health sees it)' && l.indicator === 'funding_btc');
    expect(breakerLog).toBeDefined();
  });

  it('runs one publisher alone with --only, under its own heartbeat name', async () => {
    const { conn, start } = await setup();
    start({ esof: { everyMs: 200 } }, ['--only', 'esof']);
    const hb = await openMap(conn, MapNames.HEARTBEAT, heartbeatSchema);
    await waitFor(() => hb.get('indicators-esof'), 'the indicators-esof heartbeat', 30_000);
    const esof = await openMap(conn, MapNames.FEATURES, esofSchema);
    await waitFor(() => esof.get(Keys.ESOF_LATEST), 'esof_latest');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await (await openMap(conn, MapNames.FEATURES, exfSchema)).get(Keys.EXF_LATEST)).toBeUndefined();
  });
});
