import { describe, expect, it } from 'vitest';
import type { FetchContext, Provider } from '../providers/provider.ts';
import { ResilientSource, type ResilientSourceOptions } from './resilient-source.ts';

type Step<T> = T | Error | 'hang';

/** A provider that plays `steps` in order, the last one repeating; 'hang' never settles and ignores its signal. */
function scripted<T>(name: string, steps: ReadonlyArray<Step<T>>): Provider<T> & { calls: FetchContext[] } {
  const calls: FetchContext[] = [];
  return {
    name,
    calls,
    fetch(ctx) {
      calls.push(ctx);
      const step = steps[Math.min(calls.length, steps.length) - 1];
      if (step === 'hang') return new Promise<T>(() => {});
      if (step instanceof Error) return Promise.reject(step);
      return Promise.resolve(step as T);
    },
  };
}

/** A manual clock and a sleep that records its delays and returns at once. */
function harness(overrides: Partial<ResilientSourceOptions> = {}) {
  const clock = { t: 1_000_000 };
  const sleeps: number[] = [];
  const opts: ResilientSourceOptions = {
    timeoutMs: 1_000,
    attempts: 3,
    backoff: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0 },
    breaker: { failureThreshold: 5, openMs: 10_000 },
    now: () => clock.t,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  };
  return { clock, sleeps, opts };
}

describe('ResilientSource', () => {
  it('returns the value of a successful first try', async () => {
    const { clock, sleeps, opts } = harness();
    const provider = scripted('funding', [0.0001]);
    const source = new ResilientSource(provider, opts);
    expect(await source.refresh()).toEqual({ ok: true, value: 0.0001, atMs: clock.t, attempts: 1 });
    expect(provider.calls).toHaveLength(1);
    expect(provider.calls[0]?.nowMs).toBe(clock.t);
    expect(provider.calls[0]?.signal.aborted).toBe(false);
    expect(sleeps).toEqual([]);
    expect(source.breakerState).toBe('closed');
  });

  it('retries after failures, with backoff sleeps between tries', async () => {
    const { sleeps, opts } = harness();
    const provider = scripted<number>('funding', [new Error('funding: HTTP 502 from x'), new Error('funding: HTTP 503 from x'), 7]);
    const result = await new ResilientSource(provider, opts).refresh();
    expect(result).toMatchObject({ ok: true, value: 7, attempts: 3 });
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives the last error when every attempt fails, with no sleep after the last', async () => {
    const { sleeps, opts } = harness();
    const provider = scripted<number>('funding', [new Error('first'), new Error('second'), new Error('socket hang up')]);
    const source = new ResilientSource(provider, opts);
    expect(await source.refresh()).toEqual({
      ok: false,
      error: 'funding: socket hang up',
      attempts: 3,
      breaker: 'closed',
      skipped: false,
    });
    expect(provider.calls).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);
  });

  it('names the provider once, whether or not its error already does, and survives non-Error rejections', async () => {
    const { opts } = harness({ attempts: 1 });
    const named = await new ResilientSource(scripted<number>('fng', [new Error('fng: HTTP 500 from u')]), opts).refresh();
    expect(named).toMatchObject({ ok: false, error: 'fng: HTTP 500 from u' });
    const bare = scripted<number>('fng', []);
    bare.fetch = () => Promise.reject('plain string');
    expect(await new ResilientSource(bare, opts).refresh()).toMatchObject({ ok: false, error: 'fng: plain string' });
    const throwing: Provider<number> = {
      name: 'sync',
      fetch() {
        throw new TypeError('bad url');
      },
    };
    expect(await new ResilientSource(throwing, opts).refresh()).toMatchObject({ ok: false, error: 'sync: bad url' });
  });

  it('opens the breaker after the threshold, stops trying at once, then skips without calling the provider', async () => {
    const { clock, sleeps, opts } = harness({ attempts: 5, breaker: { failureThreshold: 3, openMs: 10_000 } });
    const provider = scripted<number>('dvol', [new Error('dvol: HTTP 500 from u')]);
    const source = new ResilientSource(provider, opts);
    const first = await source.refresh();
    expect(first).toEqual({ ok: false, error: 'dvol: HTTP 500 from u', attempts: 3, breaker: 'open', skipped: false });
    expect(sleeps).toEqual([100, 200]);
    clock.t += 9_999;
    const second = await source.refresh();
    expect(second).toMatchObject({ ok: false, attempts: 0, breaker: 'open', skipped: true });
    expect(second.ok === false && second.error).toBe(
      'dvol: circuit open after 3 consecutive failures, not tried; last error: dvol: HTTP 500 from u',
    );
    expect(provider.calls).toHaveLength(3);
  });

  it('after openMs sends one probe; a successful probe closes the breaker', async () => {
    const { clock, opts } = harness({ attempts: 2, breaker: { failureThreshold: 2, openMs: 10_000 } });
    const provider = scripted<number>('taker', [new Error('down'), new Error('down'), 1.25]);
    const source = new ResilientSource(provider, opts);
    expect(await source.refresh()).toMatchObject({ ok: false, breaker: 'open' });
    clock.t += 10_000;
    expect(await source.refresh()).toEqual({ ok: true, value: 1.25, atMs: clock.t, attempts: 1 });
    expect(source.breakerState).toBe('closed');
    expect(provider.calls).toHaveLength(3);
  });

  it('a failed probe re-opens the breaker for another openMs, without retries', async () => {
    const { clock, sleeps, opts } = harness({ attempts: 4, breaker: { failureThreshold: 2, openMs: 10_000 } });
    const provider = scripted<number>('taker', [new Error('down')]);
    const source = new ResilientSource(provider, opts);
    await source.refresh();
    expect(provider.calls).toHaveLength(2);
    clock.t += 10_000;
    expect(await source.refresh()).toEqual({ ok: false, error: 'taker: down', attempts: 1, breaker: 'open', skipped: false });
    expect(provider.calls).toHaveLength(3);
    expect(sleeps).toEqual([100]);
    clock.t += 5_000;
    expect(await source.refresh()).toMatchObject({ skipped: true, breaker: 'open' });
    clock.t += 5_000;
    await source.refresh();
    expect(provider.calls).toHaveLength(4);
  });

  it('cuts off a provider that never settles and ignores its signal at timeoutMs', async () => {
    const { opts } = harness({ timeoutMs: 60, attempts: 1 });
    const provider = scripted<number>('stuck', ['hang']);
    const started = performance.now();
    const result = await new ResilientSource(provider, opts).refresh();
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: false, error: 'stuck: timed out after 60 ms', attempts: 1, breaker: 'closed', skipped: false });
    expect(elapsed).toBeGreaterThanOrEqual(50);
    expect(elapsed).toBeLessThan(1_000);
    expect(provider.calls[0]?.signal.aborted).toBe(true);
  });

  it('a stop signal ends a backoff sleep promptly (default sleep)', async () => {
    const { opts } = harness();
    const { sleep: _injected, ...withDefaultSleep } = opts;
    const source = new ResilientSource(scripted<number>('fng', [new Error('down')]), {
      ...withDefaultSleep,
      backoff: { initialMs: 30_000, maxMs: 30_000, multiplier: 1, jitter: 0 },
    });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 30);
    const started = performance.now();
    const result = await source.refresh(stop.signal);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result).toEqual({
      ok: false,
      error: 'fng: stopped during backoff; last error: fng: down',
      attempts: 1,
      breaker: 'closed',
      skipped: false,
    });
  });

  it('a stop during a try ends it without counting a failure, and frees a half-open probe', async () => {
    const { clock, opts } = harness({ attempts: 1, breaker: { failureThreshold: 1, openMs: 1_000 } });
    const provider = scripted<number>('depth', [new Error('down'), 'hang', 3]);
    const source = new ResilientSource(provider, opts);
    await source.refresh();
    expect(source.breakerState).toBe('open');
    clock.t += 1_000;
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    expect(await source.refresh(stop.signal)).toEqual({
      ok: false,
      error: 'depth: stopped',
      attempts: 1,
      breaker: 'half-open',
      skipped: false,
    });
    // Same instant: the probe slot is free again, so this refresh probes instead of being skipped.
    expect(await source.refresh()).toMatchObject({ ok: true, value: 3 });
    expect(provider.calls).toHaveLength(3);
  });

  it('tries nothing when already stopped', async () => {
    const { opts } = harness();
    const provider = scripted('fng', [1]);
    const result = await new ResilientSource(provider, opts).refresh(AbortSignal.abort());
    expect(result).toMatchObject({ ok: false, attempts: 0, skipped: false, error: 'fng: stopped before the first try' });
    expect(provider.calls).toHaveLength(0);
  });

  it('rejects nonsensical options up front', () => {
    const { opts } = harness();
    const p = scripted('fng', [1]);
    expect(() => new ResilientSource(p, { ...opts, attempts: 0 })).toThrow(/fng: attempts/);
    expect(() => new ResilientSource(p, { ...opts, timeoutMs: 0 })).toThrow(/fng: timeoutMs/);
    expect(() => new ResilientSource(p, { ...opts, backoff: { ...opts.backoff, jitter: 2 } })).toThrow(/jitter 2/);
    expect(() => new ResilientSource(p, { ...opts, breaker: { failureThreshold: 0, openMs: 1 } })).toThrow(/failureThreshold/);
  });
});
