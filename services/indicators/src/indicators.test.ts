import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetObSchema, REPO_ROOT } from '@dolphin/core';
import { calendarFactors, monthlyExpiryMs, nextMonthlyExpiryMs } from './esof.ts';
import { pushedAtMs } from './freshness.ts';
import { obFeatures } from './ob-features.ts';
import { publishersFromArgv } from './publishers.ts';
import { readReplayNumbers, replayBooks, replayNumber } from './providers/replay.ts';
import { syntheticBooks, syntheticNumber } from './providers/synthetic.ts';

const ctx = () => ({ signal: new AbortController().signal, nowMs: Date.now() });
const tmp = (name: string, text: string) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-ind-')), name);
  writeFileSync(file, text);
  return file;
};

describe('calendar factors', () => {
  it('finds the last Friday of the month at 08:00 UTC', () => {
    expect(new Date(monthlyExpiryMs(2026, 10)).toISOString()).toBe('2026-11-27T08:00:00.000Z');
    expect(new Date(monthlyExpiryMs(2027, 0)).toISOString()).toBe('2027-01-29T08:00:00.000Z');
    expect(new Date(monthlyExpiryMs(2026, 4)).toISOString()).toBe('2026-05-29T08:00:00.000Z'); // May 31 is a Sunday
  });

  it('rolls to next month once this month\'s expiry has passed', () => {
    const after = Date.parse('2026-11-27T08:00:01Z');
    expect(new Date(nextMonthlyExpiryMs(after)).toISOString()).toBe('2026-12-25T08:00:00.000Z');
    expect(nextMonthlyExpiryMs(Date.parse('2026-11-27T07:00:00Z'))).toBe(Date.parse('2026-11-27T08:00:00Z'));
  });

  it('gives weekday, hour, session and days to expiry', () => {
    const f = calendarFactors(Date.parse('2026-11-24T14:30:00Z')); // a Tuesday
    expect(f).toMatchObject({ weekday: 2, hour_utc: 14, session: 'new_york', is_weekend: false, next_expiry: '2026-11-27T08:00:00.000Z' });
    expect(f.days_to_expiry).toBeCloseTo(2.729, 3);
    expect(calendarFactors(Date.parse('2026-11-28T03:00:00Z'))).toMatchObject({ weekday: 6, session: 'asia', is_weekend: true });
    expect(calendarFactors(Date.parse('2026-11-24T07:00:00Z')).session).toBe('london');
    expect(calendarFactors(Date.parse('2026-11-24T22:00:00Z')).session).toBe('after_hours');
  });
});

describe('order-book features', () => {
  it('computes notional, cumulative depth and the imbalance, padding short books', () => {
    const f = obFeatures({ bids: [[100, 2], [99, 1]], asks: [[101, 1]] });
    expect(f.bid_notional).toEqual([200, 99, 0, 0, 0]);
    expect(f.bid_depth).toEqual([2, 3, 3, 3, 3]);
    expect(f.ask_notional).toEqual([101, 0, 0, 0, 0]);
    expect(f.imbalance).toBeCloseTo((299 - 101) / 400, 12);
    expect(assetObSchema.safeParse(f).success).toBe(true);
    expect(obFeatures({ bids: [], asks: [] }).imbalance).toBe(0);
  });
});

describe('freshness of a record made of several schedules', () => {
  const now = 1_000_000;
  it('is now while every value is within two periods and a timeout', () => {
    expect(pushedAtMs([{ value: 1, lastOkMs: now - 50_000, everyMs: 30_000 }, { value: 2, lastOkMs: now - 1_000, everyMs: 1_000 }], now, 0, 5_000)).toBe(now);
  });
  it('ages with the stalest value that missed its refreshes', () => {
    expect(pushedAtMs([{ value: 1, lastOkMs: now - 70_000, everyMs: 30_000 }, { value: 2, lastOkMs: now - 1_000, everyMs: 1_000 }], now, 0, 5_000)).toBe(now - 70_000);
  });
  it('counts a value never fetched from the publisher start', () => {
    expect(pushedAtMs([{ value: null, everyMs: 1_000 }], now, now - 300_000, 5_000)).toBe(now - 300_000);
  });
});

describe('providers', () => {
  it('synthetic: the same seed gives the same series, within each factor\'s bounds', async () => {
    const a = syntheticNumber('fear_greed', 3);
    const b = syntheticNumber('fear_greed', 3);
    const xs: number[] = [];
    for (let i = 0; i < 500; i++) {
      const v = await a.fetch(ctx());
      expect(await b.fetch(ctx())).toBe(v);
      xs.push(v);
    }
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThanOrEqual(100);
    expect(new Set(xs).size).toBeGreaterThan(10);
    const book = await syntheticBooks(1)('BTCUSDT').fetch(ctx());
    expect(book.bids).toHaveLength(5);
    expect((book.bids[0] as [number, number])[0]).toBeLessThan((book.asks[0] as [number, number])[0]);
  });

  it('replay: reads the shipped samples, loops, and names file and line of a bad row', async () => {
    const funding = readReplayNumbers(path.join(REPO_ROOT, 'services/indicators/data/funding_btc.csv'));
    expect(funding.length).toBe(120);
    const jsonl = replayNumber(tmp('x.jsonl', '{"value": 1}\n{"value": 2}\n'));
    expect([await jsonl.fetch(ctx()), await jsonl.fetch(ctx()), await jsonl.fetch(ctx())]).toEqual([1, 2, 1]);
    expect(() => readReplayNumbers(tmp('bad.csv', 'ts,value\n2026-01-01,0.1\n2026-01-02,abc\n'))).toThrow(/bad\.csv line 3: "value" is not a number/);
    expect(() => readReplayNumbers(tmp('nocol.csv', 'ts,v\n1,2\n'))).toThrow(/no "value" column/);
    expect(() => readReplayNumbers('/nonexistent/f.csv')).toThrow(/replay file \/nonexistent\/f\.csv: cannot read it/);
    const books = replayBooks(path.join(REPO_ROOT, 'services/indicators/data/books.jsonl'));
    expect((await books('ETHUSDT').fetch(ctx())).asks).toHaveLength(5);
    await expect(books('NOPEUSDT').fetch(ctx())).rejects.toThrow(/no book for NOPEUSDT/);
    expect(() => replayBooks(tmp('b.jsonl', '{"symbol":"X","bids":[[0,1]],"asks":[]}\n'))).toThrow(/b\.jsonl line 1: needs "symbol"/);
  });

  it('--only picks publishers and refuses an unknown one by name', () => {
    expect(publishersFromArgv([])).toEqual(['exf', 'ob', 'esof']);
    expect(publishersFromArgv(['--only', 'exf,esof'])).toEqual(['exf', 'esof']);
    expect(() => publishersFromArgv(['--only', 'exf,dvol'])).toThrow(/unknown publisher "dvol"/);
  });
});
