import fc from 'fast-check';

/** One random request: what the property test and bench/fuzz-dashboard.ts send over raw sockets. */
export interface FuzzRequest {
  method: string;
  target: Buffer;
  headers: Array<[string, Buffer]>;
}

const bytes = (s: string) => Buffer.from(s, 'utf8');

// CR and LF frame the request: they would split it into other requests (Node's parser is not
// what this fuzzes). Every other byte may appear.
const unframed = (b: Buffer) => Buffer.from(b.filter((x) => x !== 0x0d && x !== 0x0a));

/**
 * A random run of percent-escapes (broken ones among them), URL punctuation, unicode, raw bytes
 * and, now and then, the token itself so that requests past authentication are fuzzed too.
 */
export function noise(token: string): fc.Arbitrary<Buffer> {
  const hex = fc.constantFrom(...'0123456789abcdefABCDEFgz');
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('%E0%A4%A', '%C3%A9', '%', '%%', '%zz', '%0', '%00', '%FF', '%C3', '%ED%A0%80', '%F0%9F%98%80', '%2F', '%2e%2e', '%3F', '%26', '%3D', '%2B', '%3B').map(bytes) },
    { weight: 3, arbitrary: fc.constantFrom('+', '&', '=', '?', '#', '/', '//', '..', ';', '"', '\\', '@', ':', '[', ']', ' ', '\t', 'token=', 'dolphin_dashboard=').map(bytes) },
    { weight: 2, arbitrary: fc.tuple(hex, hex).map(([a, b]) => bytes(`%${a}${b}`)) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 4 }).map(bytes) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }).map((s) => bytes(encodeURIComponent(s))) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }).map(bytes) },
    // Lone surrogates among them: Buffer.from writes U+FFFD for those.
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }).map(bytes) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }).map((u) => Buffer.from(u)) },
    { weight: 2, arbitrary: fc.constantFrom(token, encodeURIComponent(token), `é${token.slice(1)}`, token.slice(0, -1)).map(bytes) },
  );
  return fc.array(piece, { maxLength: 12 }).map((parts) => unframed(Buffer.concat(parts)));
}

// Node's own parser refuses a request whose target has a byte outside 0x21-0x7e, or whose header
// has a control character other than tab. Nine in ten requests are kept within those, so that
// most reach the dashboard's parsing (the point of this fuzzing); the tenth tries Node's.
const mostlyWithin = (a: fc.Arbitrary<Buffer>, ok: (byte: number) => boolean) =>
  fc.tuple(a, fc.integer({ min: 0, max: 9 })).map(([b, dice]) => (dice === 0 ? b : Buffer.from(b.filter(ok))));
const inTarget = (x: number) => x >= 0x21 && x <= 0x7e;
const inHeader = (x: number) => x === 0x09 || (x >= 0x20 && x !== 0x7f);

/** A random request: method, target and the headers that carry a token, each built from `noise`. */
export function fuzzRequest(token: string): fc.Arbitrary<FuzzRequest> {
  const raw = noise(token);
  const prefixed = (prefixes: string[]) => fc.tuple(fc.constantFrom(...prefixes), raw).map(([p, rest]) => Buffer.concat([bytes(p), rest]));
  // Mostly origin-form, which is what reaches the dashboard; Node refuses most other shapes itself.
  const target = fc.oneof(
    { weight: 6, arbitrary: prefixed(['/', '//', '/?token=', '/api/snapshot?token=', '/api/snapshot?a=1&token=', '/assets/', '/healthz', '/healthz?', '/events?x=', '/%2e%2e/']) },
    { weight: 2, arbitrary: prefixed(['http://', 'http://127.0.0.1/', 'http://127.0.0.1:99999/', 'https://[', 'file://', '*']) },
    { weight: 1, arbitrary: raw },
  );
  const authorization = fc.oneof(prefixed(['Bearer ', 'bearer ', 'Basic ', 'Bearer  ', '']), fc.constant(bytes(`Bearer ${token}`)));
  const header = (a: fc.Arbitrary<Buffer>) => fc.option(mostlyWithin(a, inHeader));
  const cookie = fc.oneof(prefixed(['dolphin_dashboard=', 'a=b; dolphin_dashboard=', 'dolphin_dashboard="', '']), fc.constant(bytes(`dolphin_dashboard=${encodeURIComponent(token)}`)));
  return fc.record({
    method: fc.constantFrom('GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'HEAD', 'POST', 'OPTIONS', 'BREW'),
    target: mostlyWithin(target, inTarget),
    headers: fc.tuple(header(authorization), header(cookie), header(raw)).map(([a, c, etag]) => {
      const h: Array<[string, Buffer]> = [];
      if (a) h.push(['Authorization', a]);
      if (c) h.push(['Cookie', c]);
      if (etag) h.push(['If-None-Match', etag]);
      return h;
    }),
  });
}

/** True when the request carries the token in any form the server accepts (so a 2xx is allowed). */
export const carriesToken = (raw: Buffer, token: string) => raw.includes(token) || raw.includes(encodeURIComponent(token));

/** A response's kind for the tallies: its status, and whether Node's parser refused it (no body) before the dashboard saw it. */
export const responseKind = (res: { status: number; body: string; headers: Record<string, string> }) =>
  res.status === 400 && res.headers['content-type'] === undefined ? '400_node_parser' : String(res.status);
