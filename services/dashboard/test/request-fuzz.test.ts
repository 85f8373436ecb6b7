import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@dolphin/core';
import { carriesToken, fuzzRequest, responseKind } from './fuzz-requests.ts';
import { healthz, rawRequest, send } from './raw-http.ts';
import { serveDashboard } from './serve.ts';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123';
// Fixed, so a failure here is the same failure on the next run; the bench varies it.
const SEED = 20_260_415;
const TIME_BOX_MS = 4_000;

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe('dashboard request parsing under random input', () => {
  it('answers every random target, cookie, ?token= and Authorization with a well-formed response under 500; nothing but /healthz without the token', async () => {
    const logged: Array<Record<string, unknown>> = [];
    const logger = createLogger({ service: 'test', level: 'warn', destination: { write: (s: string) => logged.push(JSON.parse(s) as Record<string, unknown>) } as unknown as NodeJS.WritableStream });
    const d = await serveDashboard({ token: TOKEN, logger });
    closers.push(d.close);
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fuzzRequest(TOKEN), async (r) => {
        const raw = rawRequest(r);
        const res = await send(d.port, raw, { method: r.method });
        kinds.set(responseKind(res), (kinds.get(responseKind(res)) ?? 0) + 1);
        expect(res.status).toBeLessThan(500);
        // Without the token only health answers: a request that does not carry it opens nothing else.
        if (res.status < 400 && !carriesToken(raw, TOKEN)) expect(r.target.includes('/healthz')).toBe(true);
      }),
      { seed: SEED, numRuns: 1_000_000, plugins: [fc.interruptAfterTimeLimit(TIME_BOX_MS)] },
    );
    const runs = [...kinds.values()].reduce((a, b) => a + b, 0);
    console.log(`dashboard fuzz: ${runs} requests in ${TIME_BOX_MS} ms, answers ${JSON.stringify(Object.fromEntries(kinds))}`);
    // The time box may cut it short on a loaded machine, but not to nothing.
    expect(runs).toBeGreaterThan(100);
    // Most reached the dashboard's own parsing, and some got past authentication to be routed.
    expect(kinds.get('400_node_parser') ?? 0).toBeLessThan(runs / 2);
    expect((kinds.get('200') ?? 0) + (kinds.get('404') ?? 0)).toBeGreaterThan(0);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(await healthz(d.port)).toBe(200);
  });
});
