import type { EntryEvent } from 'hazelcast-client';
import { isDolphinError, type Logger } from '@dolphin/core';
import { HzErrors } from './errors.ts';
import type { HzConnection } from './client-factory.ts';
import type { TypedMap } from './typed-map.ts';

const SECOND_REREAD_MS = 2_000;

export type UpdateSource = 'initial' | 'event' | 'reread';

export interface KeyUpdate<V> {
  key: string;
  value: V;
  /** `event` from the entry listener; `initial`/`reread` from a read at start or after a reconnect. */
  source: UpdateSource;
  /** The JSON text as stored (what was validated). */
  text: string;
}

export interface WatchOptions<V> {
  /** Watch one key; omit to watch every key of the map. */
  key?: string;
  onUpdate: (update: KeyUpdate<V>) => void;
  /** A value that fails validation; default: logged at warn and skipped. */
  onInvalid?: (key: string, err: unknown) => void;
  logger?: Logger;
}

export interface Watch {
  /** Resolves after the listener is registered and the initial read is delivered. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Entry listener (added + updated, value included) that also reads the current value at start
 * and after every reconnect: events during a disconnect are lost by Hazelcast, the re-read
 * delivers what was missed. A value identical to the last one delivered for its key is not
 * delivered twice.
 */
export function watchMap<V>(conn: HzConnection, map: TypedMap<V>, options: WatchOptions<V>): Watch {
  const logger = options.logger ?? conn.logger;
  const lastText = new Map<string, string>();
  let closed = false;
  let registrationId: string | undefined;

  const deliver = (key: string, text: unknown, source: UpdateSource) => {
    if (closed || typeof text !== 'string' || lastText.get(key) === text) return;
    let value: V;
    try {
      value = map.decode(key, text);
    } catch (err) {
      if (options.onInvalid) options.onInvalid(key, err);
      // A value that is not Dolphin's is counted and logged where the connection reports refusals.
      else if (!isDolphinError(err, HzErrors.DOLPHIN_HZ_UNSEALED.code) && !isDolphinError(err, HzErrors.DOLPHIN_HZ_BAD_SEAL.code)) {
        logger.warn({ err, map: map.name, key }, 'invalid value in map; skipped');
      }
      return;
    }
    lastText.set(key, text);
    options.onUpdate({ key, value, source, text });
  };

  const readCurrent = async (source: UpdateSource) => {
    try {
      if (options.key !== undefined) {
        deliver(options.key, await map.raw.get(options.key), source);
      } else {
        for (const [k, text] of await map.raw.entrySet()) deliver(k, text, source);
      }
    } catch (err) {
      logger.warn({ err, map: map.name, key: options.key }, 're-read after connect failed; the next event or reconnect will retry');
    }
  };

  const onEvent = (e: EntryEvent<string, string>) => deliver(e.key, e.value, 'event');
  // A smart client restores its connections (and the listeners on them) to the other members
  // a little after the first one; a second read after that covers updates in between.
  let second: NodeJS.Timeout | undefined;
  const onConnected = () => {
    logger.info({ map: map.name, key: options.key }, 'reconnected: re-reading current value');
    void readCurrent('reread');
    clearTimeout(second);
    second = setTimeout(() => void readCurrent('reread'), SECOND_REREAD_MS);
    second.unref();
  };
  conn.events.on('connected', onConnected);

  const listener = { added: onEvent, updated: onEvent };
  const ready = (async () => {
    registrationId = options.key !== undefined
      ? await map.raw.addEntryListener(listener, options.key, true)
      : await map.raw.addEntryListener(listener, undefined, true);
    await readCurrent('initial');
  })();

  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(second);
      conn.events.off('connected', onConnected);
      await ready.catch(() => undefined);
      if (registrationId !== undefined) await map.raw.removeEntryListener(registrationId).catch(() => false);
    },
  };
}
