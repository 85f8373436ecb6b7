import type { z } from 'zod';
import { CoreErrors, makeError } from '../errors.ts';
import { featureScanSchema } from './scan.ts';
import {
  exfSchema,
  obFeaturesSchema,
  assetObEntrySchema,
  esofSchema,
  safetySchema,
  traderStateSchema,
  dailyPnlSchema,
  heartbeatSchema,
  metaHealthSchema,
} from './values.ts';

/** Map names of DESIGN.md §3. */
export const MapNames = {
  FEATURES: 'DOLPHIN_FEATURES',
  SAFETY: 'DOLPHIN_SAFETY',
  STATE_BLUE: 'DOLPHIN_STATE_BLUE',
  PNL_BLUE: 'DOLPHIN_PNL_BLUE',
  HEARTBEAT: 'DOLPHIN_HEARTBEAT',
  META_HEALTH: 'DOLPHIN_META_HEALTH',
} as const;
export type MapName = (typeof MapNames)[keyof typeof MapNames];

/** A trader's own maps: BLUE's are DOLPHIN_STATE_BLUE and DOLPHIN_PNL_BLUE, each other colour's alike. */
export function traderMapNames(colour: string): { state: string; pnl: string } {
  return { state: `DOLPHIN_STATE_${colour}`, pnl: `DOLPHIN_PNL_${colour}` };
}

/** Fixed keys of DESIGN.md §3. */
export const Keys = {
  LATEST_EIGEN_SCAN: 'latest_eigen_scan',
  EXF_LATEST: 'exf_latest',
  OB_FEATURES_LATEST: 'ob_features_latest',
  ESOF_LATEST: 'esof_latest',
  SAFETY_LATEST: 'latest',
  STATE_LATEST: 'latest_nautilus',
  META_HEALTH_LATEST: 'latest',
} as const;

export interface KeyContract {
  /** An exact key, or a pattern for families of keys (dates, services, assets). */
  readonly key: string | RegExp;
  readonly schema: z.ZodType;
  readonly writer: string;
}

/** Which value each key of each map holds: the one place the contract lives. */
export const MAP_CONTRACT: Readonly<Record<MapName, readonly KeyContract[]>> = {
  DOLPHIN_FEATURES: [
    { key: Keys.LATEST_EIGEN_SCAN, schema: featureScanSchema, writer: 'scan-bridge' },
    { key: Keys.EXF_LATEST, schema: exfSchema, writer: 'indicators' },
    { key: Keys.OB_FEATURES_LATEST, schema: obFeaturesSchema, writer: 'indicators' },
    { key: Keys.ESOF_LATEST, schema: esofSchema, writer: 'indicators' },
    { key: /^asset_[A-Z0-9]+_ob$/, schema: assetObEntrySchema, writer: 'indicators' },
  ],
  DOLPHIN_SAFETY: [{ key: Keys.SAFETY_LATEST, schema: safetySchema, writer: 'safety' }],
  DOLPHIN_STATE_BLUE: [{ key: Keys.STATE_LATEST, schema: traderStateSchema, writer: 'event-trader' }],
  DOLPHIN_PNL_BLUE: [{ key: /^\d{4}-\d{2}-\d{2}$/, schema: dailyPnlSchema, writer: 'event-trader' }],
  DOLPHIN_HEARTBEAT: [{ key: /^[a-z][a-z0-9-]*$/, schema: heartbeatSchema, writer: 'every service' }],
  DOLPHIN_META_HEALTH: [{ key: Keys.META_HEALTH_LATEST, schema: metaHealthSchema, writer: 'meta-health' }],
};

function matches(contract: KeyContract, key: string): boolean {
  return typeof contract.key === 'string' ? contract.key === key : contract.key.test(key);
}

/** The schema for `map[key]`; throws DOLPHIN_CONTRACT_UNKNOWN_KEY for a key the contract lacks. */
export function schemaFor(map: MapName, key: string): z.ZodType {
  const found = MAP_CONTRACT[map].find((c) => matches(c, key));
  if (found === undefined) {
    throw makeError(CoreErrors.DOLPHIN_CONTRACT_UNKNOWN_KEY, `${map}["${key}"]: no such key in the data contract`, {
      details: { map, key },
    });
  }
  return found.schema;
}

/** Bounded histories (Hazelcast Ringbuffers; capacities in deploy/hazelcast/hazelcast.xml). */
export const RingbufferNames = {
  SCAN_HISTORY: 'DOLPHIN_SCAN_HISTORY',
  META_HEALTH_HISTORY: 'DOLPHIN_META_HEALTH_HISTORY',
} as const;

/** Files meta-health keeps in the state folder: the latest record (readable without Hazelcast), and an operator's reset request. */
export const MetaHealthFiles = {
  LATEST: 'meta_health.json',
  RESET: 'meta-health.reset',
} as const;
