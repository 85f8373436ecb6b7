import { createHash, timingSafeEqual, type Hash } from 'node:crypto';

/**
 * Values Dolphin writes carry a MAC of their own text, so that Dolphin's readers can tell its own
 * values from anything else a local process wrote into the cluster (Hazelcast Community has no
 * authentication). The MAC is one more field at the end of the JSON object, so other clients
 * (Python, the Management Center) keep reading plain JSON and simply see an extra field:
 *
 *   {"posture":"APEX",…,"ts":"…"}  →  {"posture":"APEX",…,"ts":"…","_mac":"v1.<43 base64url>"}
 *
 * The MAC is HMAC-SHA256 over the place the value is written (map and key, or ringbuffer) and the
 * text before the field was added: no canonical form is needed, the reader cuts the field off the
 * end and checks the bytes it has. Binding the place stops a value of one key being replayed as
 * another (a safety value as a scan). Cost: one HMAC over ≈ 2 KB, ≈ 6 µs (bench/e2e.ts).
 */
export const SEAL_FIELD = '_mac';
const VERSION = 'v1.';
/** 32 bytes of HMAC-SHA256 in base64url, no padding. */
const MAC_CHARS = 43;
const HEAD = `"${SEAL_FIELD}":"${VERSION}`;
/** `,"_mac":"v1.` + MAC + `"}` */
const TAIL_LEN = 1 + HEAD.length + MAC_CHARS + 2;
const DOMAIN = 'dolphin-seal-v1';
/** The key is at least this long (bytes). */
export const SEAL_KEY_MIN_BYTES = 32;

export type OpenResult =
  | { ok: true; text: string }
  | { ok: false; reason: 'unsealed' | 'bad-mac' | 'not-an-object' };

/** SHA-256's block: HMAC pads the key to it. */
const BLOCK = 64;

/** Seals and opens value texts with one key. Pure: the key comes from whoever loads it. */
export class ValueSeal {
  private readonly inner: Hash;
  private readonly outer: Hash;

  constructor(key: Uint8Array) {
    if (key.length < SEAL_KEY_MIN_BYTES) throw new RangeError(`a seal key needs at least ${SEAL_KEY_MIN_BYTES} bytes, got ${key.length}`);
    // HMAC-SHA256 (RFC 2104) with the padded key's two hash states made once and copied per
    // value: createHmac sets its key up on every call, ≈ 19 µs for a 2 KB scan against ≈ 6 µs.
    const k = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? createHash('sha256').update(key).digest() : Buffer.from(key)).copy(k);
    this.inner = createHash('sha256').update(k.map((b) => b ^ 0x36));
    this.outer = createHash('sha256').update(k.map((b) => b ^ 0x5c));
  }

  private mac(where: string, text: string): Buffer {
    const inner = this.inner.copy().update(`${DOMAIN}\0${where}\0${text}`).digest();
    return this.outer.copy().update(inner).digest();
  }

  /** `text` (a JSON object) with the MAC field appended; `where` is `MAP/key` or a ringbuffer's name. */
  seal(where: string, text: string): string {
    if (text.length < 2 || text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
      throw new TypeError(`${where}: only a JSON object can be sealed`);
    }
    const mac = this.mac(where, text).toString('base64url');
    return text.length === 2 ? `{${HEAD}${mac}"}` : `${text.slice(0, -1)},${HEAD}${mac}"}`;
  }

  /** The text as it was sealed, when its MAC is right for `where`. */
  open(where: string, sealed: string): OpenResult {
    const split = splitSeal(sealed);
    if (split === undefined) return { ok: false, reason: sealed.charCodeAt(0) === 0x7b ? 'unsealed' : 'not-an-object' };
    const expected = this.mac(where, split.text);
    const given = Buffer.from(split.mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-mac' };
    return { ok: true, text: split.text };
  }
}

/** The text and MAC of a sealed value, or undefined when it carries none (at its end, in Dolphin's form). */
function splitSeal(sealed: string): { text: string; mac: string } | undefined {
  const n = sealed.length;
  if (n < TAIL_LEN || sealed.charCodeAt(n - 1) !== 0x7d || sealed.charCodeAt(n - 2) !== 0x22) return undefined;
  const headAt = n - 2 - MAC_CHARS - HEAD.length;
  if (!sealed.startsWith(HEAD, headAt)) return undefined;
  const mac = sealed.slice(n - 2 - MAC_CHARS, n - 2);
  const sep = sealed.charCodeAt(headAt - 1);
  if (sep === 0x2c) return { text: `${sealed.slice(0, headAt - 1)}}`, mac }; // ,"_mac":…
  if (sep === 0x7b && headAt === 1) return { text: '{}', mac }; // {"_mac":…}
  return undefined;
}

/**
 * A value's text without its MAC field, not checked: for readers that hold no key (an operator's
 * `dolphin health`, tools). What they show is what the map holds, not proven to be Dolphin's.
 */
export function stripSeal(text: string): string {
  return splitSeal(text)?.text ?? text;
}

/** Where a map value is sealed: `MAP/key`. */
export function sealPlace(map: string, key: string): string {
  return `${map}/${key}`;
}
