import { describe, expect, it } from 'vitest';
import { unitState } from './process-view.ts';

describe('unitState (systemd\'s ActiveState/SubState as meta-health sees a process)', () => {
  it('a long-running unit: active runs, auto-restart is being restarted, inactive was stopped by a person', () => {
    expect(unitState('active', 'running', false)).toEqual({ state: 'running', wanted: true });
    expect(unitState('activating', 'auto-restart', false)).toEqual({ state: 'backoff', wanted: true });
    expect(unitState('activating', 'start', false)).toEqual({ state: 'starting', wanted: true });
    expect(unitState('failed', 'failed', false)).toEqual({ state: 'failed', wanted: true });
    expect(unitState('inactive', 'dead', false)).toEqual({ state: 'stopped', wanted: false });
  });

  it('a scheduled oneshot (the daily batch): activating is its run, inactive is waiting for its timer, and both are as wanted', () => {
    expect(unitState('activating', 'start', true)).toEqual({ state: 'running', wanted: true });
    expect(unitState('inactive', 'dead', true)).toEqual({ state: 'scheduled', wanted: true });
    expect(unitState('failed', 'failed', true)).toEqual({ state: 'failed', wanted: true });
  });
});
