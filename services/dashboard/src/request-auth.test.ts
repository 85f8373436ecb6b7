import { describe, expect, it } from 'vitest';
import { parseTarget, presentedToken, tokenChecker, type Presented } from './request-auth.ts';

const url = (raw: string) => {
  const t = parseTarget(raw);
  if (!t.ok) throw new Error(t.error);
  return t.url;
};
const token = (s: string, fromQuery = false): Presented => ({ kind: 'token', bytes: Buffer.from(s, 'utf8'), fromQuery });

describe('parseTarget', () => {
  it('reads origin-form as a path on this server, however many slashes', () => {
    expect(url('/api/snapshot?token=x').pathname).toBe('/api/snapshot');
    expect(url('//').pathname).toBe('//');
    expect(url('//elsewhere/api/snapshot').pathname).toBe('//elsewhere/api/snapshot');
    expect(url('/%').pathname).toBe('/%');
  });

  it('reads absolute-form http(s) URLs by their path and refuses the rest, naming the target', () => {
    expect(url('http://127.0.0.1:9430/healthz').pathname).toBe('/healthz');
    expect(url('HTTPS://x/').pathname).toBe('/');
    for (const raw of ['http://[', 'http://x:99999/', '*', 'example.com:443', 'file:///etc/passwd', '']) {
      const t = parseTarget(raw);
      expect(t.ok, raw).toBe(false);
      if (!t.ok) expect(t.error).toContain(`the request target ${JSON.stringify(raw)}`);
    }
  });
});

describe('presentedToken', () => {
  it('takes ?token= first, then Bearer, then the cookie', () => {
    const headers = { authorization: 'Bearer from-header', cookie: 'dolphin_dashboard=from-cookie' };
    expect(presentedToken(headers, url('/?token=from%20query'))).toEqual(token('from query', true));
    expect(presentedToken(headers, url('/?token=a+b'))).toEqual(token('a b', true));
    expect(presentedToken(headers, url('/?other=1'))).toEqual(token('from-header'));
    expect(presentedToken({ cookie: headers.cookie }, url('/?token='))).toEqual(token('from-cookie'));
    expect(presentedToken({ authorization: 'Basic eDp5', cookie: 'a=1; dolphin_dashboard=%C3%A9t%C3%A9' }, url('/'))).toEqual(token('été'));
    expect(presentedToken({ cookie: 'dolphin_dashboard=' }, url('/'))).toEqual({ kind: 'none' });
    expect(presentedToken({}, url('/'))).toEqual({ kind: 'none' });
  });

  it('names a ?token= or cookie that does not decode instead of throwing', () => {
    for (const bad of ['%E0%A4%A', '%', '%zz', '%ED%A0%80', '%C3']) {
      expect(presentedToken({}, url(`/?token=${bad}`))).toEqual({ kind: 'malformed', error: expect.stringContaining('?token=') });
      expect(presentedToken({ cookie: `dolphin_dashboard=${bad}` }, url('/'))).toEqual({ kind: 'malformed', error: expect.stringContaining('dolphin_dashboard cookie') });
    }
    // Node reads header bytes as latin-1: a raw 0xE9 is 'é', which a percent-encoded cookie never holds.
    expect(presentedToken({ cookie: 'dolphin_dashboard=é' }, url('/'))).toMatchObject({ kind: 'malformed' });
  });

  it('keeps a Bearer token\'s own bytes', () => {
    const utf8 = Buffer.from('tökén', 'utf8');
    expect(presentedToken({ authorization: `bearer ${utf8.toString('latin1')}` }, url('/'))).toEqual({ kind: 'token', bytes: utf8, fromQuery: false });
    expect(presentedToken({ authorization: 'Bearer  \tabc\u00a0' }, url('/'))).toEqual({ kind: 'token', bytes: Buffer.from([0x61, 0x62, 0x63, 0xa0]), fromQuery: false });
  });
});

describe('tokenChecker', () => {
  const ok = tokenChecker('abcdefghijklmnopqrstuvwxyz0123');

  it('accepts the token and nothing else, whatever the lengths or bytes', () => {
    expect(ok(Buffer.from('abcdefghijklmnopqrstuvwxyz0123'))).toBe(true);
    for (const other of ['', 'abcdefghijklmnopqrstuvwxyz012', 'abcdefghijklmnopqrstuvwxyz01234', `é${'bcdefghijklmnopqrstuvwxyz0123'}`, 'é'.repeat(30)]) {
      expect(ok(Buffer.from(other, 'utf8')), other).toBe(false);
    }
    expect(ok(Buffer.alloc(30, 0xe9))).toBe(false);
    expect(ok(Buffer.alloc(1 << 16, 0xff))).toBe(false);
  });

  it('compares a token beyond ASCII by its UTF-8 bytes', () => {
    const t = tokenChecker('jeton-à-vérifier-ÿ');
    expect(t(Buffer.from('jeton-à-vérifier-ÿ', 'utf8'))).toBe(true);
    expect(t(Buffer.from('jeton-à-vérifier-ÿ', 'latin1'))).toBe(false);
  });
});
