import os from 'node:os';
import { colourService, CoreErrors, makeError, type ClusterFile, type ServiceRegistry } from '@dolphin/core';

/** What one host of a cluster file runs, and how its member and clients find the others. */
export interface HostPlacement {
  host: string;
  /** The member of this host binds to this address only. */
  address: string;
  port: number;
  clusterName: string;
  /** Every host's member, `address:port`: the TCP-IP join list and the clients' members. */
  members: string[];
  /** The registry with every entry not placed on this host disabled. */
  registry: ServiceRegistry;
  /** Entries that run here, in registry order. */
  placed: string[];
  /** Things worth saying that start nothing wrong (a colour whose trader has no entry yet). */
  notes: string[];
}

export interface PlaceOptions {
  cluster: Readonly<ClusterFile>;
  /** Names the file in messages. */
  source: string;
  /** --host / DOLPHIN_HOST. */
  host: string | undefined;
  registry: ServiceRegistry;
  /** This machine's addresses (default: `localAddresses()`). */
  local?: readonly string[];
}

/** This machine's IPv4 addresses, from its interfaces (in a network namespace: the namespace's). */
export function localAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
}

/**
 * Which entries of the registry run on `host`, and the member's address and peers. Pure apart
 * from reading the interfaces when `local` is not given. Throws a DOLPHIN_CLUSTER_* error naming
 * the field; nothing is started before this has passed.
 */
/** The services that can be hot standbys, and how they are told to be. */
const STANDBY_ENV: Record<string, Record<string, string>> = {
  'scan-bridge': { DOLPHIN__bridge__standby: 'true' },
  safety: { DOLPHIN__safety__standby: 'true' },
};

export function placeHost(o: PlaceOptions): HostPlacement {
  const hosts = Object.keys(o.cluster.hosts);
  if (o.host === undefined || o.host === '') {
    throw makeError(CoreErrors.DOLPHIN_CLUSTER_HOST_UNKNOWN, `host: ${o.source} needs --host <name> or DOLPHIN_HOST, one of ${hosts.join(', ')}`);
  }
  const me = o.cluster.hosts[o.host];
  if (!me) throw makeError(CoreErrors.DOLPHIN_CLUSTER_HOST_UNKNOWN, `host: ${o.host} is not a host of ${o.source} (${hosts.join(', ')})`);
  const local = o.local ?? localAddresses();
  if (!local.includes(me.address)) {
    throw makeError(CoreErrors.DOLPHIN_CLUSTER_ADDRESS_NOT_LOCAL,
      `${o.source}: hosts.${o.host}.address: ${me.address} is not an address of this machine (it has ${local.join(', ') || 'none'})`);
  }

  const here = new Set<string>();
  const notes: string[] = [];
  const unknown: string[] = [];
  // A service that can stand by (STANDBY_ENV) and runs on more than one host does: one active.
  const standbyEnv: Record<string, Record<string, string>> = {};
  for (const [service, on] of Object.entries(o.cluster.placement)) {
    if (!o.registry[service]) unknown.push(`placement.${service}`);
    else if (on.includes(o.host)) here.add(service);
    if (on.length > 1 && STANDBY_ENV[service]) standbyEnv[service] = STANDBY_ENV[service];
  }
  // Each colour's trader: its entry (the registry's, or one made from event-trader), told its
  // colour and parameters, and a hot standby when the colour runs on more than one host.
  const colourEntries: ServiceRegistry = {};
  for (const [colour, c] of Object.entries(o.cluster.colours)) {
    const service = colourService(colour, c);
    const base = o.registry[service] ?? (c.service === undefined ? o.registry['event-trader'] : undefined);
    if (!base) {
      // A named entry that is missing is a mistake.
      unknown.push(`colours.${colour}.service`);
      continue;
    }
    colourEntries[service] = {
      ...base,
      ...(o.registry[service] ? {} : { main: base.main ?? 'services/event-trader/src/main.ts', metricsPort: 0 }),
      env: {
        ...base.env,
        DOLPHIN__trader__colour: colour,
        DOLPHIN__trader__strategy: JSON.stringify(c.params),
        ...(c.hosts.length > 1 ? { DOLPHIN__trader__standby: 'true' } : {}),
      },
    };
    if (c.hosts.includes(o.host)) here.add(service);
  }
  if (unknown.length > 0) {
    const names = Object.keys(o.registry).join(', ');
    throw makeError(CoreErrors.DOLPHIN_CLUSTER_SERVICE_UNKNOWN,
      `${o.source}: ${unknown.map((f) => `${f}: not in the service registry (${names})`).join('; ')}`);
  }

  const members = Object.values(o.cluster.hosts).map((h) => `${h.address}:${o.cluster.memberPort}`);
  const registry: ServiceRegistry = {};
  const placed: string[] = [];
  for (const [name, e] of Object.entries({ ...o.registry, ...colourEntries })) {
    // One member per host, always: the member is not placed, it is the host.
    const runs = e.enabled && (e.kind === 'member' || here.has(name));
    registry[name] = e.kind === 'member'
      ? { ...e, readiness: { ...e.readiness, kind: 'http', url: `http://${me.address}:${o.cluster.memberPort}/hazelcast/health/ready` } }
      : { ...e, enabled: runs, ...(standbyEnv[name] ? { env: { ...e.env, ...standbyEnv[name] } } : {}) };
    if (runs) placed.push(name);
  }
  return { host: o.host, address: me.address, port: o.cluster.memberPort, clusterName: o.cluster.clusterName, members, registry, placed, notes };
}
