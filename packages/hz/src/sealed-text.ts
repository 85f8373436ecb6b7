import { makeError, stripSeal, type ValueSeal } from '@dolphin/core';
import type { HzConnection } from './client-factory.ts';
import { HzErrors } from './errors.ts';

/** What seals and opens the texts of one connection: its seal, and where refusals are reported. */
export interface Sealing {
  readonly seal: ValueSeal | undefined;
  refused(place: string, reason: 'unsealed' | 'bad-mac' | 'not-an-object'): void;
}

export function sealingOf(conn: Pick<HzConnection, 'seal' | 'events'>): Sealing {
  return {
    seal: conn.seal,
    refused: (place, reason) => conn.events.emit('refused', { place, reason }),
  };
}

/** The text to store at `place`: sealed when the connection holds the key. */
export function sealText(s: Sealing, place: string, text: string): string {
  return s.seal ? s.seal.seal(place, text) : text;
}

/**
 * The text as its writer sealed it. With a key: refused (DOLPHIN_HZ_UNSEALED / _BAD_SEAL, reported
 * to the connection's `refused` event) unless its MAC checks out for `place`. Without one: the MAC
 * field is cut off unchecked.
 */
export function openText(s: Sealing, place: string, text: string): string {
  if (!s.seal) return stripSeal(text);
  const r = s.seal.open(place, text);
  if (r.ok) return r.text;
  s.refused(place, r.reason);
  throw r.reason === 'bad-mac'
    ? makeError(HzErrors.DOLPHIN_HZ_BAD_SEAL, `${place}: its MAC does not match (forged, altered, or written with another key); refused`)
    : makeError(HzErrors.DOLPHIN_HZ_UNSEALED, `${place}: carries no MAC of Dolphin's (written by something else); refused`);
}
