import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { CoreErrors, makeError } from './errors.ts';
import { REPO_ROOT } from './paths.ts';
import { dolphinConfigSchema, type DolphinConfig, type DolphinEnv } from './config-schema.ts';
import { DEFAULT_SERVICES } from './registry-defaults.ts';

type Json = Record<string, unknown>;

interface Layer {
  readonly source: string;
  readonly data: Json;
}

export interface LoadConfigOptions {
  /** Folder holding dolphin.json and dolphin.<env>.json (default: $DOLPHIN_CONFIG_DIR, else <checkout>/config). */
  dir?: string;
  /** Environment overlay to apply (default: $DOLPHIN_ENV, else dev). */
  env?: DolphinEnv;
  /** Environment variables to read (default: process.env). */
  environ?: NodeJS.ProcessEnv;
  /** Last layer, for tests and CLI flags. */
  overrides?: Json;
}

const ENV_PREFIX = 'DOLPHIN__';

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

function readJsonFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw makeError(CoreErrors.DOLPHIN_CONFIG_FILE_UNREADABLE, `config file ${file}: cannot be read`, { cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw makeError(CoreErrors.DOLPHIN_CONFIG_FILE_UNREADABLE, `config file ${file}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (!isPlainObject(data)) {
    throw makeError(CoreErrors.DOLPHIN_CONFIG_FILE_UNREADABLE, `config file ${file}: must hold a JSON object`);
  }
  return data;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function setPath(target: Json, keys: string[], value: unknown): void {
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(node[k])) node[k] = {};
    node = node[k] as Json;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * Environment layer: `DOLPHIN__hazelcast__clusterName=x` sets hazelcast.clusterName (values are
 * JSON when they parse as JSON); the well-known `HZ_MEMBERS=host:port,...`, `DOLPHIN_LOG_LEVEL`
 * and `DOLPHIN_STATE_DIR` are shorthands.
 */
export function envLayer(environ: NodeJS.ProcessEnv): Json {
  const out: Json = {};
  if (environ.HZ_MEMBERS) setPath(out, ['hazelcast', 'members'], environ.HZ_MEMBERS.split(',').map((s) => s.trim()).filter(Boolean));
  if (environ.HZ_CLUSTER_NAME) setPath(out, ['hazelcast', 'clusterName'], environ.HZ_CLUSTER_NAME);
  if (environ.DOLPHIN_LOG_LEVEL) setPath(out, ['log', 'level'], environ.DOLPHIN_LOG_LEVEL);
  if (environ.DOLPHIN_STATE_DIR) setPath(out, ['stateDir'], environ.DOLPHIN_STATE_DIR);
  for (const [name, raw] of Object.entries(environ)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const keys = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    if (keys.length > 0) setPath(out, keys, parseEnvValue(raw));
  }
  return out;
}

function hasPath(data: Json, keys: readonly PropertyKey[]): boolean {
  let node: unknown = data;
  for (const k of keys) {
    if (!isPlainObject(node) && !Array.isArray(node)) return false;
    if (!(String(k) in (node as Json))) return false;
    node = (node as Json)[String(k)];
  }
  return true;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Parses layered config with `schema` once and freezes it. On failure throws
 * DOLPHIN_CONFIG_INVALID listing every problem as `field: reason (from <source>)`.
 */
export function parseLayers<S extends z.ZodType>(schema: S, layers: readonly Layer[]): Readonly<z.infer<S>> {
  const merged = layers.reduce<Json>((acc, l) => deepMerge(acc, l.data), {});
  const result = schema.safeParse(merged);
  if (result.success) return deepFreeze(result.data);
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    const from = [...layers].reverse().find((l) => hasPath(l.data, issue.path))?.source;
    return `${field}: ${issue.message}${from ? ` (from ${from})` : ''}`;
  });
  throw makeError(CoreErrors.DOLPHIN_CONFIG_INVALID, `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
    details: { problems },
  });
}

/** Reads the layers (base file, env overlay file, environment, overrides) and parses them with `schema`. */
export function loadLayeredConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}, defaults: Json = {}): Readonly<z.infer<S>> {
  const environ = options.environ ?? process.env;
  const dir = options.dir ?? environ.DOLPHIN_CONFIG_DIR ?? path.join(REPO_ROOT, 'config');
  const env = options.env ?? (environ.DOLPHIN_ENV as DolphinEnv | undefined) ?? 'dev';
  const layers: Layer[] = [{ source: 'defaults', data: { ...defaults, env } }];
  // A folder this process may not search hides its files: say so instead of running on defaults.
  try {
    accessSync(dir, fsConstants.X_OK);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw makeError(CoreErrors.DOLPHIN_CONFIG_FILE_UNREADABLE, `config folder ${dir}: cannot be read by uid ${process.getuid?.()} (${(cause as NodeJS.ErrnoException).code})`, { cause });
    }
  }
  for (const file of [path.join(dir, 'dolphin.json'), path.join(dir, `dolphin.${env}.json`)]) {
    if (existsSync(file)) layers.push({ source: file, data: readJsonFile(file) });
  }
  layers.push({ source: 'environment', data: envLayer(environ) });
  if (options.overrides) layers.push({ source: 'overrides', data: options.overrides });
  return parseLayers(schema, layers);
}

/** Dolphin's shared configuration; the service registry starts from DEFAULT_SERVICES. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<DolphinConfig> {
  return loadLayeredConfig(dolphinConfigSchema, options, { services: DEFAULT_SERVICES });
}
