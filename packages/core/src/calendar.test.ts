import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nextElapse, parseCalendar, previousElapse } from './calendar.ts';
import { isDolphinError } from './errors.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** systemd's own answer: the next `n` elapses of `expr` after `baseMs`, as epoch ms; undefined without systemd-analyze. */
function systemdElapses(expr: string, baseMs: number, n: number): number[] | undefined {
  let out: string;
  try {
    out = execFileSync('systemd-analyze', ['calendar', `--base-time=@${Math.floor(baseMs / 1000)}`, `--iterations=${n}`, expr], {
      encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // "    Next elapse: Fri 2026-12-04 00:15:00 UTC" and "       Iter. #2: Sat 2026-12-05 00:15:00 UTC"
  return [...out.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC/g)].map((m) => at(`${m[1]}T${m[2]}Z`));
}

const hasSystemd = systemdElapses('*-*-* 00:00:00 UTC', 0, 1) !== undefined;

describe('calendar: the subset of systemd.time(7) that dolphin up runs', () => {
  const EXPRESSIONS = ['*-*-* 00:15:00 UTC', '*-*-* 7:5 UTC', '*-*-* 23:59:59 UTC', 'daily UTC', '*-*-* 00:00 UTC', '*-*-* 12:30:07 UTC'];
  const BASES = [
    '2026-12-03T17:01:20.000Z', // an afternoon
    '2026-12-04T00:15:00.000Z', // exactly at an elapse: the next is the day after
    '2026-12-04T00:14:59.999Z', // a moment before one
    '2026-12-31T23:59:59.500Z', // the year's end
    '2028-02-28T23:59:59.000Z', // a leap day ahead
    '1970-01-01T00:00:00.000Z',
  ];

  it('gives the same next three elapses as systemd-analyze calendar, for every form it accepts', () => {
    if (!hasSystemd) {
      console.warn('calendar.test: systemd-analyze is not on this machine; the comparison with systemd did not run');
      return;
    }
    for (const expr of EXPRESSIONS) {
      const cal = parseCalendar(expr);
      for (const base of BASES) {
        const baseMs = at(base);
        // systemd-analyze takes whole seconds; a base with a fraction is compared from its second.
        const want = systemdElapses(expr, baseMs, 3) as number[];
        expect(want, `${expr} from ${base}`).toHaveLength(3);
        const got: number[] = [];
        let t = Math.floor(baseMs / 1000) * 1000;
        for (let i = 0; i < 3; i++) got.push(t = nextElapse(cal, t));
        expect(got.map(iso), `${expr} from ${base}`).toEqual(want.map(iso));
      }
    }
  });

  it('knows the elapse before a time (for a run missed while nothing ran) and the one after', () => {
    const cal = parseCalendar('*-*-* 00:15:00 UTC');
    expect(iso(previousElapse(cal, at('2026-12-04T09:00:00Z')))).toBe('2026-12-04T00:15:00.000Z');
    expect(iso(previousElapse(cal, at('2026-12-04T00:15:00Z')))).toBe('2026-12-04T00:15:00.000Z'); // at it: that one
    expect(iso(previousElapse(cal, at('2026-12-04T00:14:59.999Z')))).toBe('2026-12-03T00:15:00.000Z');
    expect(iso(nextElapse(cal, at('2026-12-04T00:14:59.999Z')))).toBe('2026-12-04T00:15:00.000Z');
    expect(cal.text).toBe('*-*-* 00:15:00 UTC');
  });

  it('refuses, naming the calendar, what it cannot run as systemd would', () => {
    for (const expr of ['daily', '*-*-* 00:15:00', 'Mon *-*-* 00:15:00 UTC', '*-*-* 24:00:00 UTC', '*-*-* 00:60 UTC', '*-*-1 00:15 UTC', 'hourly UTC', '*-*-* 00:15:00 Europe/Paris', '', '*-*-* 0,12:00 UTC']) {
      let caught: unknown;
      try {
        parseCalendar(expr);
      } catch (err) {
        caught = err;
      }
      expect(isDolphinError(caught, 'DOLPHIN_CONFIG_CALENDAR'), expr).toBe(true);
      expect((caught as Error).message).toContain(`"${expr}"`);
    }
    // Without a zone systemd reads the host's local time; the registry's calendars are UTC.
    expect(() => parseCalendar('daily')).toThrow(/add " UTC"/);
  });
});
