import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The cookie that keeps the token after `/?token=…`. */
export const COOKIE = 'dolphin_dashboard';

/** A request target as a URL, or why it is none. */
export type Target = { ok: true; url: URL } | { ok: false; error: string };

/**
 * What a request presented as its token: nothing, something that does not decode (`error` says
 * where and why), or the token's bytes.
 */
export type Presented =
  | { kind: 'none' }
  | { kind: 'malformed'; error: string }
  | { kind: 'token'; bytes: Buffer; fromQuery: boolean };

const BASE = 'http://dashboard';

/**
 * The request target as a URL. Origin-form (`/path?query`) is read as a path on this server, so
 * `//x/y` is the path `//x/y` and never the host `x`; absolute-form must be an http(s) URL, and its
 * host is ignored. Asterisk- and authority-form, and anything the URL parser refuses, are not.
 */
export function parseTarget(raw: string): Target {
  const bad = (why: string): Target => ({ ok: false, error: `the request target ${JSON.stringify(raw.slice(0, 200))} ${why}` });
  try {
    if (raw.startsWith('/')) return { ok: true, url: new URL(BASE + raw) };
    if (!/^[a-z][a-z0-9+.-]*:/i.test(raw)) return bad('is neither a path nor a URL');
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? { ok: true, url } : bad('is not an http URL');
  } catch {
    return bad('is not a valid URL');
  }
}

/** Percent-decoding that says no instead of throwing (decodeURIComponent throws URIError on `%E0%A4%A`). */
function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The first `token=` of a query, still encoded; undefined when there is none or it is empty. */
function queryToken(search: string): string | undefined {
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair.startsWith('token=') && pair.length > 6) return pair.slice(6);
  }
  return undefined;
}

/** The value of this dashboard's cookie, undefined when absent or empty. */
function cookieValue(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const c = part.trim();
    if (c.startsWith(`${COOKIE}=`) && c.length > COOKIE.length + 1) return c.slice(COOKIE.length + 1);
  }
  return undefined;
}

// Node hands header values over as latin-1: one character per byte, so this gets the bytes back.
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

/**
 * The token a request presents, in the order the page and scripts use: `?token=` (the URL
 * `dolphin up` prints), `Authorization: Bearer`, then the cookie. A token is compared as bytes
 * (UTF-8 for what was percent-encoded, the header's own bytes for Bearer).
 */
export function presentedToken(headers: IncomingHttpHeaders, url: URL): Presented {
  const q = queryToken(url.search);
  if (q !== undefined) {
    const token = decode(q.replaceAll('+', ' '));
    if (token === undefined) return { kind: 'malformed', error: 'the token in ?token= is not valid percent-encoded UTF-8' };
    return { kind: 'token', bytes: Buffer.from(token, 'utf8'), fromQuery: true };
  }
  const auth = headers.authorization;
  // Only spaces and tabs are padding: trim() would also take a 0xA0 byte (NBSP in latin-1) off the token.
  if (auth !== undefined && /^bearer /i.test(auth)) return { kind: 'token', bytes: Buffer.from(auth.slice(7).replace(/^[ \t]+|[ \t]+$/g, ''), 'latin1'), fromQuery: false };
  const c = cookieValue(headers.cookie);
  if (c === undefined) return { kind: 'none' };
  const token = PRINTABLE_ASCII.test(c) ? decode(c) : undefined;
  if (token === undefined) {
    return { kind: 'malformed', error: `the ${COOKIE} cookie is not a percent-encoded UTF-8 token: open the URL dolphin up printed (…/?token=…) to replace it` };
  }
  return { kind: 'token', bytes: Buffer.from(token, 'utf8'), fromQuery: false };
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * A check of presented bytes against `expected`. Both sides are hashed first, so timingSafeEqual
 * always compares 32 bytes: safe for any input, and the time says nothing of where they differ
 * or of the token's length.
 */
export function tokenChecker(expected: string): (presented: Buffer) => boolean {
  const want = digest(Buffer.from(expected, 'utf8'));
  return (presented) => timingSafeEqual(digest(presented), want);
}
