import { describe, expect, it } from 'vitest';
import { createLogger } from '@dolphin/core';
import { ComponentStack } from './components.ts';
import { Lifecycle } from './lifecycle.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('ComponentStack', () => {
  it('closes in reverse order of registration', async () => {
    const order: string[] = [];
    const stack = new ComponentStack(1_000, logger);
    for (const name of ['hazelcast', 'heartbeat', 'listener', 'ledger']) stack.register(name, () => { order.push(name); });
    const reports = await stack.closeAll();
    expect(order).toEqual(['ledger', 'listener', 'heartbeat', 'hazelcast']);
    expect(reports.every((r) => r.outcome === 'closed')).toBe(true);
  });

  it('abandons a component that hangs after its own timeout and closes the rest', async () => {
    const order: string[] = [];
    const stack = new ComponentStack(5_000, logger);
    stack.register('first', () => { order.push('first'); });
    stack.register('hangs', () => new Promise(() => undefined), { timeoutMs: 50 });
    stack.register('fails', () => { throw new Error('boom'); });
    const reports = await stack.closeAll();
    expect(reports.map((r) => `${r.name}:${r.outcome}`)).toEqual(['fails:failed', 'hangs:timeout', 'first:closed']);
    expect(order).toEqual(['first']);
  });

  it('refuses a duplicate name', () => {
    const stack = new ComponentStack(1_000, logger);
    stack.register('a', () => undefined);
    expect(() => stack.register('a', () => undefined)).toThrow(/already registered/);
  });
});

describe('Lifecycle', () => {
  it('walks idle → starting → running → stopping → stopped and emits each change', () => {
    const lc = new Lifecycle();
    const seen: string[] = [];
    lc.on('change', (to, from) => seen.push(`${from}>${to}`));
    for (const s of ['starting', 'running', 'stopping', 'stopped'] as const) lc.moveTo(s);
    expect(seen).toEqual(['idle>starting', 'starting>running', 'running>stopping', 'stopping>stopped']);
  });

  it('refuses transitions the machine does not allow', () => {
    const lc = new Lifecycle();
    expect(() => lc.moveTo('running')).toThrow(/idle → running is not allowed/);
    lc.moveTo('starting');
    lc.moveTo('failed');
    expect(lc.canMoveTo('starting')).toBe(false);
  });
});
