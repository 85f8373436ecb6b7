import { describe, expect, it } from 'vitest';
import { parseCalendar } from '@dolphin/core';
import { planRun } from './schedule.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const cal = parseCalendar('*-*-* 00:15:00 UTC');
const schedule = { calendar: cal.text, persistent: true, randomizedDelaySec: 600 };
const NOW = at('2026-12-04T09:00:00Z');

describe('planRun (when a scheduled entry runs next)', () => {
  it('the next elapse plus a random delay of at most randomizedDelaySec', () => {
    const recent = { lastTriggerAt: '2026-12-04T00:15:00.000Z' };
    expect(planRun(cal, schedule, NOW, recent, () => 0)).toEqual({ elapse: at('2026-12-05T00:15:00Z'), at: at('2026-12-05T00:15:00Z'), catchUp: false });
    expect(iso(planRun(cal, schedule, NOW, recent, () => 0.5).at)).toBe('2026-12-05T00:20:00.000Z');
    expect(planRun(cal, schedule, NOW, recent, () => 0.999_999).at).toBeLessThan(at('2026-12-05T00:25:00Z'));
    expect(planRun(cal, { ...schedule, randomizedDelaySec: 0 }, NOW, recent, () => 0.7).at).toBe(at('2026-12-05T00:15:00Z'));
  });

  it('persistent: an elapse missed since the last run is run now (once, for all missed)', () => {
    const old = { lastTriggerAt: '2026-12-01T00:15:00.000Z' };
    expect(planRun(cal, schedule, NOW, old, () => 0.5)).toEqual({ elapse: at('2026-12-04T00:15:00Z'), at: NOW, catchUp: true });
    // Just after the elapse, its random delay is still to come.
    const justAfter = at('2026-12-04T00:16:00Z');
    expect(planRun(cal, schedule, justAfter, old, () => 0.5)).toEqual({ elapse: at('2026-12-04T00:15:00Z'), at: at('2026-12-04T00:20:00Z'), catchUp: true });
    // Armed before the elapse but never run (the supervisor was down at that time): caught up too.
    expect(planRun(cal, schedule, NOW, { armedAt: '2026-12-03T12:00:00.000Z' }, () => 0).catchUp).toBe(true);
  });

  it('waits for the next elapse: not persistent, nothing missed, or nothing on record', () => {
    const old = { lastTriggerAt: '2026-12-01T00:15:00.000Z' };
    expect(planRun(cal, { ...schedule, persistent: false }, NOW, old, () => 0).catchUp).toBe(false);
    expect(planRun(cal, schedule, NOW, { lastTriggerAt: '2026-12-04T00:15:00.000Z' }, () => 0).catchUp).toBe(false);
    expect(planRun(cal, schedule, NOW, { armedAt: '2026-12-04T08:00:00.000Z' }, () => 0).catchUp).toBe(false);
    expect(planRun(cal, schedule, NOW, {}, () => 0)).toMatchObject({ elapse: at('2026-12-05T00:15:00Z'), catchUp: false });
  });
});
