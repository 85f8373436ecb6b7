import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keys, MapNames, sampleSafety, sampleState, sealPlace, ValueSeal } from '@dolphin/core';
import type { Sealing } from '@dolphin/hz';
import { judgeValue } from './observe.ts';

const seal = new ValueSeal(randomBytes(32));
const refused: string[] = [];
const sealing: Sealing = { seal, refused: (place, reason) => refused.push(`${place}:${reason}`) };
const NOW = Date.parse('2026-12-03T12:00:00Z');
const o = { sealing, maxClockSkewMs: 5_000, now: NOW };
const sealed = (map: string, key: string, v: unknown) => seal.seal(sealPlace(map, key), JSON.stringify(v));
const at = (ms: number) => new Date(NOW + ms).toISOString();

describe('judgeValue: what meta-health believes of a stored value', () => {
  it('a sealed, fresh, valid value is valid, with its age', () => {
    expect(judgeValue(MapNames.SAFETY, Keys.SAFETY_LATEST, 'ts', sealed(MapNames.SAFETY, Keys.SAFETY_LATEST, { ...sampleSafety, ts: at(-2_000) }), o)).toEqual({ ageMs: 2_000, valid: true });
  });

  it('a value no Dolphin process sealed is invalid (and the refusal reported); one from 2099 too', () => {
    const plain = judgeValue(MapNames.SAFETY, Keys.SAFETY_LATEST, 'ts', JSON.stringify({ ...sampleSafety, posture: 'HIBERNATE', ts: at(0) }), o);
    expect(plain.valid).toBe(false);
    expect(plain.problem).toMatch(/carries no MAC of Dolphin's/);
    expect(refused).toContain('DOLPHIN_SAFETY/latest:unsealed');
    const future = judgeValue(MapNames.SAFETY, Keys.SAFETY_LATEST, 'ts', sealed(MapNames.SAFETY, Keys.SAFETY_LATEST, { ...sampleSafety, ts: '2099-01-01T00:00:00Z' }), o);
    expect(future).toMatchObject({ valid: false });
    expect(future.problem).toMatch(/^ts is \d+ s ahead of this host's clock/);
  });

  it('the trader halted, or scans it could not decide in the last 15 minutes: valid, with a warning', () => {
    const state = (extra: object) => sealed(MapNames.STATE_BLUE, Keys.STATE_LATEST, { ...sampleState, updated_at: at(-1_000), ...extra });
    const halted = judgeValue(MapNames.STATE_BLUE, Keys.STATE_LATEST, 'updated_at', state({ halted: { code: 'DOLPHIN_TRADER_LEDGER_FULL', reason: 'ledger x: disk full (ENOSPC)', since: at(-60_000) } }), o);
    expect(halted).toMatchObject({ valid: true });
    expect(halted.warning).toMatch(/trader halted since .*: ledger x: disk full \(ENOSPC\)/);
    const gap = judgeValue(MapNames.STATE_BLUE, Keys.STATE_LATEST, 'updated_at', state({ scans_missed: 3, last_gap_at: at(-120_000) }), o);
    expect(gap.warning).toMatch(/^3 scan\(s\) could not be decided/);
    expect(judgeValue(MapNames.STATE_BLUE, Keys.STATE_LATEST, 'updated_at', state({ scans_missed: 3, last_gap_at: at(-16 * 60_000) }), o).warning).toBeUndefined();
  });
});
