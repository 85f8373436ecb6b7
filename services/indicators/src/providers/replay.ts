import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BookLevels, OrderBook, Provider } from './provider.ts';

/** A replay file that cannot be used: names the file and, where it applies, the line. */
export class ReplayFileError extends Error {}

function linesOf(file: string): Array<{ n: number; text: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ReplayFileError(`replay file ${file}: cannot read it (${(err as Error).message})`);
  }
  return text.split(/\r?\n/).map((t, i) => ({ n: i + 1, text: t.trim() })).filter((l) => l.text !== '' && !l.text.startsWith('#'));
}

/**
 * The values of one factor from a file, in order, starting again at the end: JSONL with a
 * `value` field per line, or CSV with a `value` column (other columns, such as `ts`, are ignored).
 */
export function readReplayNumbers(file: string): number[] {
  const lines = linesOf(file);
  if (lines.length === 0) throw new ReplayFileError(`replay file ${file}: no values`);
  const bad = (n: number, why: string) => new ReplayFileError(`replay file ${file} line ${n}: ${why}`);
  if (path.extname(file) === '.csv') {
    const [header, ...rows] = lines;
    const col = header?.text.split(',').map((h) => h.trim()).indexOf('value') ?? -1;
    if (col < 0) throw bad(header?.n ?? 1, 'the header has no "value" column');
    return rows.map((r) => {
      const v = Number(r.text.split(',')[col]);
      if (!Number.isFinite(v)) throw bad(r.n, `"value" is not a number: ${r.text}`);
      return v;
    });
  }
  return lines.map((l) => {
    let row: unknown;
    try {
      row = JSON.parse(l.text);
    } catch {
      throw bad(l.n, 'not JSON');
    }
    const v = (row as { value?: unknown })?.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(l.n, '"value" is missing or not a number');
    return v;
  });
}

export function replayNumber(file: string, name = `replay ${path.basename(file)}`): Provider<number> {
  const values = readReplayNumbers(file);
  let i = 0;
  return {
    name,
    fetch() {
      const v = values[i % values.length] as number;
      i++;
      return Promise.resolve(v);
    },
  };
}

function levels(v: unknown): BookLevels | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Array<[number, number]> = [];
  for (const l of v) {
    if (!Array.isArray(l) || l.length < 2) return undefined;
    const [p, q] = [Number(l[0]), Number(l[1])];
    if (!(p > 0) || !(q >= 0)) return undefined;
    out.push([p, q]);
  }
  return out;
}

/** Order books from JSONL (`{"symbol", "bids": [[price, qty], ...], "asks": [...]}`), per symbol in order, wrapping. */
export function replayBooks(file: string): (symbol: string) => Provider<OrderBook> {
  const bySymbol = new Map<string, OrderBook[]>();
  for (const l of linesOf(file)) {
    let row: { symbol?: unknown; bids?: unknown; asks?: unknown };
    try {
      row = JSON.parse(l.text) as typeof row;
    } catch {
      throw new ReplayFileError(`replay file ${file} line ${l.n}: not JSON`);
    }
    const bids = levels(row.bids);
    const asks = levels(row.asks);
    if (typeof row.symbol !== 'string' || !bids || !asks) {
      throw new ReplayFileError(`replay file ${file} line ${l.n}: needs "symbol" and "bids"/"asks" as [[price > 0, qty ≥ 0], ...]`);
    }
    bySymbol.set(row.symbol, [...(bySymbol.get(row.symbol) ?? []), { bids, asks }]);
  }
  const cursor = new Map<string, number>();
  return (symbol) => ({
    name: `replay ${path.basename(file)} ${symbol}`,
    fetch() {
      const books = bySymbol.get(symbol);
      if (!books?.length) return Promise.reject(new Error(`replay ${path.basename(file)}: no book for ${symbol}`));
      const i = cursor.get(symbol) ?? 0;
      cursor.set(symbol, i + 1);
      return Promise.resolve(books[i % books.length] as OrderBook);
    },
  });
}
