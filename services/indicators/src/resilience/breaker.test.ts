import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.ts';

const T0 = 1_000_000;

function openedBreaker(): CircuitBreaker {
  const b = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000 });
  for (let i = 0; i < 3; i += 1) b.onFailure(T0);
  return b;
}

describe('CircuitBreaker', () => {
  it('starts closed and lets every try through', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000 });
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
    expect(b.openedAt).toBeUndefined();
    expect([b.canTry(T0), b.canTry(T0), b.canTry(T0)]).toEqual([true, true, true]);
  });

  it('stays closed below the threshold and a success resets the count', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000 });
    b.onFailure(T0);
    b.onFailure(T0 + 1);
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(2);
    b.onSuccess();
    expect(b.consecutiveFailures).toBe(0);
    b.onFailure(T0 + 2);
    b.onFailure(T0 + 3);
    expect(b.state).toBe('closed');
  });

  it('opens on the threshold-th consecutive failure and refuses until openMs has passed', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000 });
    b.onFailure(T0);
    b.onFailure(T0 + 10);
    b.onFailure(T0 + 20);
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(T0 + 20);
    expect(b.consecutiveFailures).toBe(3);
    expect(b.canTry(T0 + 20)).toBe(false);
    expect(b.canTry(T0 + 20 + 9_999)).toBe(false);
    expect(b.state).toBe('open');
  });

  it('opens on the first failure with a threshold of 1', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 500 });
    b.onFailure(T0);
    expect(b.state).toBe('open');
    expect(b.canTry(T0 + 499)).toBe(false);
  });

  it('after openMs turns half-open and allows exactly one probe', () => {
    const b = openedBreaker();
    expect(b.canTry(T0 + 10_000)).toBe(true);
    expect(b.state).toBe('half-open');
    expect(b.canTry(T0 + 10_001)).toBe(false);
    expect(b.canTry(T0 + 99_999)).toBe(false);
  });

  it('closes on a successful probe, with the count and openedAt reset', () => {
    const b = openedBreaker();
    b.canTry(T0 + 10_000);
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
    expect(b.openedAt).toBeUndefined();
    expect(b.canTry(T0 + 10_001)).toBe(true);
  });

  it('re-opens for another openMs on a failed probe', () => {
    const b = openedBreaker();
    b.canTry(T0 + 15_000);
    b.onFailure(T0 + 15_100);
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(T0 + 15_100);
    expect(b.consecutiveFailures).toBe(4);
    expect(b.canTry(T0 + 25_099)).toBe(false);
    expect(b.canTry(T0 + 25_100)).toBe(true);
    expect(b.state).toBe('half-open');
  });

  it('frees the probe when a try is cancelled without a verdict', () => {
    const b = openedBreaker();
    expect(b.canTry(T0 + 10_000)).toBe(true);
    b.onCancel();
    expect(b.state).toBe('half-open');
    expect(b.consecutiveFailures).toBe(3);
    expect(b.canTry(T0 + 10_000)).toBe(true);
    expect(b.canTry(T0 + 10_000)).toBe(false);
  });

  it('counts a late failure while open without extending the wait', () => {
    const b = openedBreaker();
    b.onFailure(T0 + 5_000);
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(T0);
    expect(b.consecutiveFailures).toBe(4);
    expect(b.canTry(T0 + 10_000)).toBe(true);
  });

  it('rejects a threshold below 1 or a negative openMs', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, openMs: 1 })).toThrow(/failureThreshold.*got 0/);
    expect(() => new CircuitBreaker({ failureThreshold: 1.5, openMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, openMs: -1 })).toThrow(/openMs.*got -1/);
  });
});
