import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  extractPath,
  HTTP_PRESETS,
  httpBookProvider,
  httpNumberProvider,
  resolveHttpPreset,
  type HttpBookPreset,
  type HttpNumberPreset,
} from '../src/providers/http.ts';
import type { Provider } from '../src/providers/provider.ts';
import { ResilientSource, type ResilientSourceOptions } from '../src/resilience/resilient-source.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const NOW_MS = 1_763_969_041_000;
const ctx = (): { signal: AbortSignal; nowMs: number } => ({ signal: AbortSignal.timeout(5_000), nowMs: NOW_MS });

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8');
}

const json =
  (body: string, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };

// A local stand-in for the public APIs: routes by path, records every request URL.
const routes = new Map<string, Handler>();
const requests: string[] = [];
let server: Server;
let origin = '';

/** The preset's URL with its origin swapped for the local server's. */
function local(url: string): string {
  return url.replace(/^https?:\/\/[^/]+/, origin);
}

function numberPreset(name: string): HttpNumberPreset {
  const preset = resolveHttpPreset(name);
  if (preset.kind !== 'number') throw new Error(`${name} is not a number preset`);
  return preset;
}

function bookPreset(name: string): HttpBookPreset {
  const preset = resolveHttpPreset(name);
  if (preset.kind !== 'book') throw new Error(`${name} is not a book preset`);
  return preset;
}

function resilient<T>(provider: Provider<T>, overrides: Partial<ResilientSourceOptions> = {}): ResilientSource<T> {
  return new ResilientSource(provider, {
    timeoutMs: 2_000,
    attempts: 1,
    backoff: { initialMs: 5, maxMs: 20, multiplier: 2, jitter: 0 },
    breaker: { failureThreshold: 3, openMs: 60_000 },
    ...overrides,
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const handler = routes.get(new URL(req.url ?? '/', 'http://local').pathname);
    if (handler === undefined) res.writeHead(404).end('no route');
    else handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [name, preset] of Object.entries(HTTP_PRESETS)) {
    routes.set(new URL(preset.url).pathname, json(fixture(name)));
  }
});

afterAll(async () => {
  // The never-answering handler leaves sockets open; close() alone would wait for them.
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
});

beforeEach(() => {
  requests.length = 0;
});

describe('extractPath', () => {
  const body = { result: { data: [[1, 2], [3, 4, 5]] }, list: [{ buySellRatio: '1.1' }] };

  it('follows keys and indexes, negative indexes from the end', () => {
    expect(extractPath(body, 'result.data.-1.2')).toBe(5);
    expect(extractPath(body, 'result.data.0.1')).toBe(2);
    expect(extractPath(body, 'result.data.-2.0')).toBe(1);
    expect(extractPath([{ buySellRatio: '0.9' }], '0.buySellRatio')).toBe('0.9');
    expect(extractPath(body, '')).toBe(body);
  });

  it('names the missing segment and where it was looked for', () => {
    expect(() => extractPath(body, 'result.rows.0')).toThrow('path result.rows.0: no "rows" in result (keys: data)');
    expect(() => extractPath(body, 'result.data.-3.0')).toThrow('path result.data.-3.0: no index -3 in result.data (an array of 2)');
    expect(() => extractPath(body, 'result.data.first')).toThrow(/"first" is not an index, and result\.data is an array of 2/);
    expect(() => extractPath(body, 'list.0.buySellRatio.x')).toThrow(/no "x" in list\.0\.buySellRatio, which is "1\.1"/);
    expect(() => extractPath(null, 'a')).toThrow('path a: no "a" in the top level, which is null');
  });
});

describe('HTTP presets against recorded responses', () => {
  it('binance-funding reads lastFundingRate, a numeric string, with the scale applied', async () => {
    const preset = numberPreset('binance-funding');
    expect(await httpNumberProvider({ name: 'binance-funding', url: local(preset.url), path: preset.path }).fetch(ctx())).toBe(0.00007284);
    const pct = httpNumberProvider({ name: 'funding-pct', url: local(preset.url), path: preset.path, scale: 100 });
    expect(await pct.fetch(ctx())).toBeCloseTo(0.007284, 12);
    expect(requests).toEqual(['/fapi/v1/premiumIndex?symbol=BTCUSDT', '/fapi/v1/premiumIndex?symbol=BTCUSDT']);
  });

  it('deribit-dvol reads the last candle close and fills the time window from the fetch time', async () => {
    const preset = numberPreset('deribit-dvol');
    expect(await httpNumberProvider({ name: 'deribit-dvol', url: local(preset.url), path: preset.path }).fetch(ctx())).toBe(54.87);
    expect(requests).toEqual([
      `/api/v2/public/get_volatility_index_data?currency=BTC&resolution=3600&start_timestamp=${NOW_MS - 7_200_000}&end_timestamp=${NOW_MS}`,
    ]);
  });

  it('alternative-fear-greed reads the index value', async () => {
    const preset = numberPreset('alternative-fear-greed');
    const provider = httpNumberProvider({ name: 'fng', url: local(preset.url), path: preset.path });
    expect(await provider.fetch(ctx())).toBe(23);
    expect(requests).toEqual(['/fng/?limit=1']);
  });

  it('binance-taker-ratio reads buySellRatio of the first row', async () => {
    const preset = numberPreset('binance-taker-ratio');
    const provider = httpNumberProvider({ name: 'taker', url: local(preset.url), path: preset.path });
    expect(await provider.fetch(ctx())).toBe(0.8741);
  });

  it('binance-depth gives numeric [price, qty] levels, best first, cut to `levels`', async () => {
    const preset = bookPreset('binance-depth');
    const book = httpBookProvider({ name: 'binance-depth', url: local(preset.url), bidsPath: preset.bidsPath, asksPath: preset.asksPath, levels: 3 });
    const provider = book('BTCUSDT');
    expect(provider.name).toBe('binance-depth BTCUSDT');
    expect(await provider.fetch(ctx())).toEqual({
      bids: [
        [91843.21, 1.20417],
        [91843.2, 0.0006],
        [91843.01, 0.05],
      ],
      asks: [
        [91843.22, 3.4812],
        [91843.23, 0.00012],
        [91843.4, 0.109],
      ],
    });
    expect(requests).toEqual(['/api/v3/depth?symbol=BTCUSDT&limit=5']);
    const full = await httpBookProvider({ name: 'd', url: local(preset.url), bidsPath: 'bids', asksPath: 'asks' })('ETH/USDT').fetch(ctx());
    expect(full.bids).toHaveLength(5);
    expect(full.asks.at(-1)).toEqual([91844, 1]);
    expect(requests[1]).toBe('/api/v3/depth?symbol=ETH%2FUSDT&limit=5');
  });

  it('sorts a book best first whatever the API order, and rejects a bad level', async () => {
    routes.set('/book-unsorted', json(JSON.stringify({ b: [[99, 1], [101, '2'], [100, 3]], a: [['103', 1], [102, 2]] })));
    routes.set('/book-bad', json(JSON.stringify({ b: [[99, 1], ['x', 2]], a: [] })));
    const unsorted = httpBookProvider({ name: 'ex', url: `${origin}/book-unsorted`, bidsPath: 'b', asksPath: 'a' })('S');
    expect(await unsorted.fetch(ctx())).toEqual({ bids: [[101, 2], [100, 3], [99, 1]], asks: [[102, 2], [103, 1]] });
    const bad = httpBookProvider({ name: 'ex', url: `${origin}/book-bad`, bidsPath: 'b', asksPath: 'a' })('S');
    await expect(bad.fetch(ctx())).rejects.toThrow('ex S: bids[1] is ["x",2], not a [price > 0, quantity ≥ 0] pair');
  });

  it('documents every preset and refuses an unknown name, listing the known ones', () => {
    for (const preset of Object.values(HTTP_PRESETS)) expect(preset.doc.length).toBeGreaterThan(20);
    expect(() => resolveHttpPreset('binance-fundng')).toThrow(
      'unknown http preset "binance-fundng"; known presets: binance-funding, deribit-dvol, alternative-fear-greed, binance-taker-ratio, binance-depth',
    );
    expect(() => resolveHttpPreset('toString')).toThrow(/unknown http preset "toString"/);
  });
});

describe('HTTP provider failures through ResilientSource', () => {
  const funding = (path: string): Provider<number> =>
    httpNumberProvider({ name: 'binance-funding', url: `${origin}${path}?symbol=BTCUSDT`, path: 'lastFundingRate' });

  it('reports a 500 with the URL', async () => {
    routes.set('/status-500', json('{"code":-1000,"msg":"An unknown error occurred while processing the request."}', 500));
    expect(await resilient(funding('/status-500')).refresh()).toEqual({
      ok: false,
      error: `binance-funding: HTTP 500 from ${origin}/status-500?symbol=BTCUSDT`,
      attempts: 1,
      breaker: 'closed',
      skipped: false,
    });
  });

  it('reports a body that is not JSON', async () => {
    routes.set('/malformed', json('{"symbol":"BTCUSDT","lastFundingRate":"0.0001"'));
    const result = await resilient(funding('/malformed')).refresh();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^binance-funding: response is not JSON \(.+\) from http:\/\/127\.0\.0\.1:\d+\/malformed/);
  });

  it('reports a missing field, naming it and what was there', async () => {
    routes.set('/missing', json('{"symbol":"BTCUSDT","markPrice":"91843.21"}'));
    const result = await resilient(funding('/missing')).refresh();
    expect(!result.ok && result.error).toBe(
      'binance-funding: path lastFundingRate: no "lastFundingRate" in the top level (keys: symbol, markPrice)',
    );
  });

  it('reports a field that is not a number', async () => {
    routes.set('/not-number', json('{"lastFundingRate":"n/a"}'));
    const result = await resilient(funding('/not-number')).refresh();
    expect(!result.ok && result.error).toBe(
      `binance-funding: lastFundingRate is "n/a", not a number (from ${origin}/not-number?symbol=BTCUSDT)`,
    );
  });

  it('cuts off a server that never answers at timeoutMs', async () => {
    routes.set('/hang', () => {});
    const started = performance.now();
    const result = await resilient(funding('/hang'), { timeoutMs: 150 }).refresh();
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: false, error: 'binance-funding: timed out after 150 ms', attempts: 1, breaker: 'closed', skipped: false });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const provider = httpNumberProvider({ name: 'fng', url: `http://127.0.0.1:${port}/fng/`, path: 'data.0.value' });
    const result = await resilient(provider).refresh();
    expect(!result.ok && result.error).toMatch(new RegExp(`^fng: request to http://127\\.0\\.0\\.1:${port}/fng/ failed: fetch failed: .*ECONNREFUSED`));
  });

  it('retries through a 500, bad JSON, a missing field and a timeout to the value', async () => {
    const modes: Handler[] = [
      json('oops', 500),
      json('<html>bad gateway</html>'),
      json('{"symbol":"BTCUSDT"}'),
      () => {},
      json(fixture('binance-funding')),
    ];
    let hit = 0;
    routes.set('/flaky', (req, res) => {
      const handler = modes[Math.min(hit, modes.length - 1)];
      hit += 1;
      handler?.(req, res);
    });
    const source = resilient(funding('/flaky'), { attempts: 5, timeoutMs: 300, breaker: { failureThreshold: 10, openMs: 60_000 } });
    const result = await source.refresh();
    expect(result).toMatchObject({ ok: true, value: 0.00007284, attempts: 5 });
    expect(hit).toBe(5);
    expect(source.breakerState).toBe('closed');
  });

  it('opens the breaker after repeated failures, then skips without touching the server', async () => {
    let hits = 0;
    routes.set('/down', (req, res) => {
      hits += 1;
      json('{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}', 503)(req, res);
    });
    const source = resilient(funding('/down'), { attempts: 2 });
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await source.refresh());
    expect(results.map((r) => [r.ok, r.attempts, !r.ok && r.breaker, !r.ok && r.skipped])).toEqual([
      [false, 2, 'closed', false],
      [false, 1, 'open', false],
      [false, 0, 'open', true],
      [false, 0, 'open', true],
    ]);
    expect(hits).toBe(3);
    expect(!results[3]!.ok && results[3]!.error).toBe(
      `binance-funding: circuit open after 3 consecutive failures, not tried; last error: binance-funding: HTTP 503 from ${origin}/down?symbol=BTCUSDT`,
    );
  });
});
