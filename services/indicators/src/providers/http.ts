import type { BookLevels, OrderBook, Provider } from './provider.ts';

/**
 * The value at a dotted path: object keys and array indexes, a negative index counting from
 * the end (`result.data.-1.4` is the last row's fifth field). Throws naming the missing segment.
 */
export function extractPath(data: unknown, path: string): unknown {
  if (path === '') return data;
  let current: unknown = data;
  const segments = path.split('.');
  for (const [i, segment] of segments.entries()) {
    const at = i === 0 ? 'the top level' : segments.slice(0, i).join('.');
    if (Array.isArray(current)) {
      if (!/^-?\d+$/.test(segment)) {
        throw new Error(`path ${path}: "${segment}" is not an index, and ${at} is an array of ${current.length}`);
      }
      const n = Number(segment);
      const index = n < 0 ? current.length + n : n;
      if (index < 0 || index >= current.length) {
        throw new Error(`path ${path}: no index ${segment} in ${at} (an array of ${current.length})`);
      }
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      if (!Object.hasOwn(current, segment)) {
        const keys = Object.keys(current);
        const shown = keys.length === 0 ? 'none' : keys.slice(0, 8).join(', ') + (keys.length > 8 ? ', …' : '');
        throw new Error(`path ${path}: no "${segment}" in ${at} (keys: ${shown})`);
      }
      current = (current as Record<string, unknown>)[segment];
    } else {
      throw new Error(`path ${path}: no "${segment}" in ${at}, which is ${describeValue(current)}`);
    }
  }
  return current;
}

export interface HttpNumberOptions {
  readonly name: string;
  /** May contain {now_ms} and {now_ms-N} (N ms before the fetch time). */
  readonly url: string;
  /** Where the number is in the JSON body; see extractPath. */
  readonly path: string;
  /** Multiplies the value, e.g. 100 for a fraction wanted in percent. */
  readonly scale?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A number read from one field of a JSON endpoint. */
export function httpNumberProvider(opts: HttpNumberOptions): Provider<number> {
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale)) throw new RangeError(`${opts.name}: scale must be a finite number, got ${scale}`);
  return {
    name: opts.name,
    async fetch(ctx) {
      const url = expandUrl(opts.url, ctx.nowMs, {});
      const body = await getJson(opts.name, url, ctx.signal, opts.headers);
      const raw = extractIn(opts.name, body, opts.path);
      const value = toFiniteNumber(raw);
      if (value === undefined) {
        throw new Error(`${opts.name}: ${opts.path} is ${describeValue(raw)}, not a number (from ${url})`);
      }
      return value * scale;
    },
  };
}

export interface HttpBookOptions {
  readonly name: string;
  /** May contain {symbol}, {now_ms} and {now_ms-N}. */
  readonly url: string;
  readonly bidsPath: string;
  readonly asksPath: string;
  /** Levels kept per side, best first (default 5). */
  readonly levels?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An order-book snapshot from a JSON endpoint, one provider per symbol. */
export function httpBookProvider(opts: HttpBookOptions): (symbol: string) => Provider<OrderBook> {
  const levels = opts.levels ?? 5;
  if (!Number.isInteger(levels) || levels < 1) throw new RangeError(`${opts.name}: levels must be an integer ≥ 1, got ${levels}`);
  return (symbol) => {
    const name = `${opts.name} ${symbol}`;
    return {
      name,
      async fetch(ctx) {
        const url = expandUrl(opts.url, ctx.nowMs, { symbol });
        const body = await getJson(name, url, ctx.signal, opts.headers);
        const bids = bookSide(name, 'bids', extractIn(name, body, opts.bidsPath), levels);
        const asks = bookSide(name, 'asks', extractIn(name, body, opts.asksPath), levels);
        return { bids, asks };
      },
    };
  };
}

/** `[price, qty]` rows (numbers or numeric strings; extra fields ignored), sorted best first, the first `levels` kept. */
function bookSide(name: string, side: 'bids' | 'asks', raw: unknown, levels: number): BookLevels {
  if (!Array.isArray(raw)) throw new Error(`${name}: ${side} is ${describeValue(raw)}, not an array of [price, quantity]`);
  const parsed = raw.map((row: unknown, i): readonly [number, number] => {
    const price = Array.isArray(row) ? toFiniteNumber(row[0]) : undefined;
    const qty = Array.isArray(row) ? toFiniteNumber(row[1]) : undefined;
    if (price === undefined || qty === undefined || price <= 0 || qty < 0) {
      throw new Error(`${name}: ${side}[${i}] is ${describeValue(row)}, not a [price > 0, quantity ≥ 0] pair`);
    }
    return [price, qty];
  });
  // Best first whatever order the API uses: highest bid, lowest ask.
  parsed.sort(side === 'bids' ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]);
  return parsed.slice(0, levels);
}

type PresetDoc = { readonly url: string; readonly doc: string };
export type HttpNumberPreset = PresetDoc & { readonly kind: 'number'; readonly path: string; readonly scale?: number };
export type HttpBookPreset = PresetDoc & { readonly kind: 'book'; readonly bidsPath: string; readonly asksPath: string };
export type HttpPreset = HttpNumberPreset | HttpBookPreset;

/** Public endpoints with no key, ready to use as `http` providers. */
export const HTTP_PRESETS: Readonly<Record<string, HttpPreset>> = Object.freeze({
  'binance-funding': {
    kind: 'number',
    url: 'https://fapi.binance.com/fapi/v1/premiumIndex?symbol=BTCUSDT',
    path: 'lastFundingRate',
    doc: 'Binance USDT-M perpetual BTCUSDT: the last funding rate, a fraction per 8 h interval (0.0001 = 0.01 %).',
  },
  'deribit-dvol': {
    kind: 'number',
    url: 'https://www.deribit.com/api/v2/public/get_volatility_index_data?currency=BTC&resolution=3600&start_timestamp={now_ms-7200000}&end_timestamp={now_ms}',
    path: 'result.data.-1.4',
    doc: 'Deribit DVOL (BTC 30-day implied volatility, annualised %): close of the latest hourly candle [ts, open, high, low, close].',
  },
  'alternative-fear-greed': {
    kind: 'number',
    url: 'https://api.alternative.me/fng/?limit=1',
    path: 'data.0.value',
    doc: 'alternative.me Crypto Fear & Greed Index, 0 (extreme fear) to 100 (extreme greed), updated daily.',
  },
  'binance-taker-ratio': {
    kind: 'number',
    url: 'https://fapi.binance.com/futures/data/takerlongshortRatio?symbol=BTCUSDT&period=5m&limit=1',
    path: '0.buySellRatio',
    doc: 'Binance USDT-M BTCUSDT taker buy volume / taker sell volume over the last 5 min; above 1 = aggressive buying.',
  },
  'binance-depth': {
    kind: 'book',
    url: 'https://api.binance.com/api/v3/depth?symbol={symbol}&limit=5',
    bidsPath: 'bids',
    asksPath: 'asks',
    doc: 'Binance spot order book, top 5 levels per side, for {symbol} (e.g. BTCUSDT).',
  },
});

/** The preset called `name`; an unknown name throws listing the known ones. */
export function resolveHttpPreset(name: string): HttpPreset {
  const preset = Object.hasOwn(HTTP_PRESETS, name) ? HTTP_PRESETS[name] : undefined;
  if (preset === undefined) {
    throw new Error(`unknown http preset "${name}"; known presets: ${Object.keys(HTTP_PRESETS).join(', ')}`);
  }
  return preset;
}

/** Fills {now_ms}, {now_ms-N} and the given {vars}; other braces are left alone. */
function expandUrl(template: string, nowMs: number, vars: Readonly<Record<string, string>>): string {
  const now = Math.floor(nowMs);
  return template.replace(/\{([a-z_]+)(?:-(\d+))?\}/g, (whole, key: string, minus: string | undefined) => {
    if (key === 'now_ms') return String(now - Number(minus ?? 0));
    const value = minus === undefined && Object.hasOwn(vars, key) ? vars[key] : undefined;
    return value === undefined ? whole : encodeURIComponent(value);
  });
}

async function getJson(
  name: string,
  url: string,
  signal: AbortSignal,
  headers: Readonly<Record<string, string>> | undefined,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json', ...headers } });
  } catch (err) {
    // An abort is the caller's verdict (timeout or stop): passed on as it is.
    if (signal.aborted) throw err;
    throw new Error(`${name}: request to ${url} failed: ${causeOf(err)}`, { cause: err });
  }
  if (!response.ok) {
    // Releases the connection without reading an error page.
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`${name}: HTTP ${response.status} from ${url}`);
  }
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${name}: response is not JSON (${causeOf(err)}) from ${url}`);
  }
}

function extractIn(name: string, body: unknown, path: string): unknown {
  try {
    return extractPath(body, path);
  } catch (err) {
    throw new Error(`${name}: ${causeOf(err)}`);
  }
}

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Numbers, or decimal strings as Binance sends them. */
function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Node's fetch says only "fetch failed"; the useful part (ECONNREFUSED, ...) is in its cause. */
function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  if (!(cause instanceof Error)) return err.message;
  // An AggregateError (one error per address tried) can have an empty message of its own.
  const first: unknown = cause instanceof AggregateError ? cause.errors[0] : undefined;
  const code: unknown = (cause as { code?: unknown }).code;
  const detail = cause.message || (first instanceof Error ? first.message : '') || (typeof code === 'string' ? code : cause.name);
  return `${err.message}: ${detail}`;
}
