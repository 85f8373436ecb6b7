import type { IMap } from 'hazelcast-client';
import type { z } from 'zod';
import { makeError, contractError, schemaFor, sealPlace, type MapName } from '@dolphin/core';
import { HzErrors } from './errors.ts';
import { openText, sealingOf, sealText, type Sealing } from './sealed-text.ts';
import { withTimeout } from './timeout.ts';
import type { HzConnection } from './client-factory.ts';

/** How a value for `key` is validated. */
export type SchemaOf<V> = (key: string) => z.ZodType<V>;

const PLAIN: Sealing = { seal: undefined, refused: () => undefined };

/**
 * A Hazelcast map of JSON-string values (readable from any language), validated with zod on
 * write and on read, and sealed with this install's MAC when the connection holds the key (a
 * value without it is refused on read). Errors name the map, the key and the failing fields.
 */
export class TypedMap<V> {
  readonly name: string;
  readonly raw: IMap<string, string>;
  private readonly schemaOf: SchemaOf<V>;
  private readonly timeoutMs: number;
  private readonly sealing: Sealing;

  constructor(name: string, raw: IMap<string, string>, schemaOf: SchemaOf<V>, timeoutMs: number, sealing: Sealing = PLAIN) {
    this.name = name;
    this.raw = raw;
    this.schemaOf = schemaOf;
    this.timeoutMs = timeoutMs;
    this.sealing = sealing;
  }

  private where(key: string): string {
    return `${this.name}["${key}"]`;
  }

  /** Validates `value` for `key` and returns its JSON text, sealed; throws DOLPHIN_CONTRACT_INVALID. */
  encode(key: string, value: V): string {
    const result = this.schemaOf(key).safeParse(value);
    if (!result.success) throw contractError(this.where(key), result.error.issues);
    return this.sealEncoded(key, JSON.stringify(result.data));
  }

  /** Seals JSON text the caller built and validated itself (the bridge's hot path). */
  sealEncoded(key: string, text: string): string {
    return sealText(this.sealing, sealPlace(this.name, key), text);
  }

  /**
   * Parses and validates a stored JSON string; throws DOLPHIN_HZ_UNSEALED or DOLPHIN_HZ_BAD_SEAL
   * (not Dolphin's), DOLPHIN_HZ_BAD_JSON or DOLPHIN_CONTRACT_INVALID.
   */
  decode(key: string, text: unknown): V {
    if (typeof text !== 'string') {
      throw makeError(HzErrors.DOLPHIN_HZ_BAD_JSON, `${this.where(key)}: value is a ${typeof text}, not a JSON string`);
    }
    const opened = openText(this.sealing, sealPlace(this.name, key), text);
    let data: unknown;
    try {
      data = JSON.parse(opened);
    } catch (cause) {
      throw makeError(HzErrors.DOLPHIN_HZ_BAD_JSON, `${this.where(key)}: not valid JSON (${(cause as Error).message})`, { cause });
    }
    const result = this.schemaOf(key).safeParse(data);
    if (!result.success) throw contractError(this.where(key), result.error.issues);
    return result.data;
  }

  async get(key: string): Promise<V | undefined> {
    const text = await withTimeout(this.raw.get(key), this.timeoutMs, `get ${this.where(key)}`);
    return text === null || text === undefined ? undefined : this.decode(key, text);
  }

  /** Validated write; `set` returns no old value, so it is the cheaper put. */
  async set(key: string, value: V, ttlMs?: number): Promise<void> {
    const text = this.encode(key, value);
    await this.setEncoded(key, text, ttlMs);
  }

  /** Writes text produced by `encode` or `sealEncoded` (lets a hot path encode once, outside the await). */
  async setEncoded(key: string, text: string, ttlMs?: number): Promise<void> {
    await withTimeout(ttlMs === undefined ? this.raw.set(key, text) : this.raw.set(key, text, ttlMs),
      this.timeoutMs, `set ${this.where(key)}`);
  }

  async delete(key: string): Promise<void> {
    await withTimeout(this.raw.delete(key), this.timeoutMs, `delete ${this.where(key)}`);
  }

  async keys(): Promise<string[]> {
    const set = await withTimeout(this.raw.keySet(), this.timeoutMs, `keys of ${this.name}`);
    return [...set];
  }

  /** Every entry, validated; an invalid entry throws naming its key. */
  async entries(): Promise<Array<[string, V]>> {
    const list = await withTimeout(this.raw.entrySet(), this.timeoutMs, `entries of ${this.name}`);
    return list.map(([k, text]) => [k, this.decode(k, text)]);
  }

  async size(): Promise<number> {
    return withTimeout(this.raw.size(), this.timeoutMs, `size of ${this.name}`);
  }
}

/** A map whose values all share one schema. */
export async function openMap<S extends z.ZodType>(conn: HzConnection, name: string, schema: S): Promise<TypedMap<z.infer<S>>> {
  const raw = await withTimeout(conn.client.getMap<string, string>(name), conn.settings.operationTimeoutMs, `open map ${name}`);
  return new TypedMap<z.infer<S>>(name, raw, () => schema as z.ZodType<z.infer<S>>, conn.settings.operationTimeoutMs, sealingOf(conn));
}

/**
 * A map of DESIGN.md §3, validated per key by the data contract (MAP_CONTRACT). A key the
 * contract does not define is refused with DOLPHIN_CONTRACT_UNKNOWN_KEY.
 */
export async function openContractMap<V = unknown>(conn: HzConnection, name: MapName): Promise<TypedMap<V>> {
  const raw = await withTimeout(conn.client.getMap<string, string>(name), conn.settings.operationTimeoutMs, `open map ${name}`);
  return new TypedMap<V>(name, raw, (key) => schemaFor(name, key) as z.ZodType<V>, conn.settings.operationTimeoutMs, sealingOf(conn));
}
