import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEAL_FIELD, sealPlace, stripSeal, ValueSeal } from './seal.ts';

const key = randomBytes(32);
const seal = new ValueSeal(key);
const place = sealPlace('DOLPHIN_SAFETY', 'latest');
const text = JSON.stringify({ posture: 'APEX', size_scale: 1, reasons: [], ts: '2026-12-03T10:00:00.000000Z' });

describe('ValueSeal', () => {
  it('appends one field that plain JSON readers see as an extra field, and opens to the exact text', () => {
    const sealed = seal.seal(place, text);
    const parsed = JSON.parse(sealed) as Record<string, unknown>;
    expect(parsed.posture).toBe('APEX');
    expect(typeof parsed[SEAL_FIELD]).toBe('string');
    expect(seal.open(place, sealed)).toEqual({ ok: true, text });
    expect(stripSeal(sealed)).toBe(text);
  });

  it('refuses a plain value, a changed byte, another place and another key', () => {
    const sealed = seal.seal(place, text);
    expect(seal.open(place, text)).toEqual({ ok: false, reason: 'unsealed' });
    expect(seal.open(place, sealed.replace('APEX', 'HIBE').replace('HIBE', 'HIBX'))).toEqual({ ok: false, reason: 'bad-mac' });
    expect(seal.open(place, sealed.replace('"size_scale":1', '"size_scale":0'))).toEqual({ ok: false, reason: 'bad-mac' });
    expect(seal.open(sealPlace('DOLPHIN_FEATURES', 'latest_eigen_scan'), sealed)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(new ValueSeal(randomBytes(32)).open(place, sealed)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(seal.open(place, '"just a string"')).toEqual({ ok: false, reason: 'not-an-object' });
  });

  it('a forger who copies a MAC onto other text gains nothing; an empty object seals too', () => {
    const sealed = seal.seal(place, text);
    const mac = sealed.slice(sealed.lastIndexOf(',"_mac"'));
    const forged = `${JSON.stringify({ posture: 'HIBERNATE', size_scale: 0, reasons: [], ts: '2099-01-01T00:00:00Z' }).slice(0, -1)}${mac}`;
    expect(seal.open(place, forged)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(seal.open(place, seal.seal(place, '{}'))).toEqual({ ok: true, text: '{}' });
  });

  it('is HMAC-SHA256 (RFC 2104) over the domain, the place and the text, for short and long keys', () => {
    for (const k of [randomBytes(32), randomBytes(100)]) {
      const s = new ValueSeal(k);
      const sealed = s.seal(place, text);
      const expected = createHmac('sha256', k).update(`dolphin-seal-v1\0${place}\0${text}`).digest('base64url');
      expect(sealed.endsWith(`"_mac":"v1.${expected}"}`)).toBe(true);
    }
  });

  it('refuses short keys and non-objects', () => {
    expect(() => new ValueSeal(randomBytes(16))).toThrow(/at least 32 bytes/);
    expect(() => seal.seal(place, '[1,2]')).toThrow(/only a JSON object/);
  });
});
