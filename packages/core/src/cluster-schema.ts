import { z } from 'zod';
import { CoreErrors, makeError } from './errors.ts';
import { serviceNameSchema } from './registry-schema.ts';

/**
 * The cluster file (`config/cluster.example.json`): the hosts of a Dolphin cluster, one member
 * each, their addresses, what runs where, and the colours (traders) with their own strategy
 * parameters. Parsed once at `dolphin up --host <name>`; a bad file starts nothing.
 */

export const hostNameSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes, e.g. h1');
/** A colour names a trader and its maps: DOLPHIN_STATE_<COLOUR>, DOLPHIN_PNL_<COLOUR>. */
export const colourNameSchema = z.string().regex(/^[A-Z][A-Z0-9]*$/, 'upper-case letters and digits, e.g. BLUE');

/** An IPv4 address a member can bind to: never the wildcard (it would listen on every interface). */
const bindAddressSchema = z.ipv4().refine((a) => a !== '0.0.0.0' && a !== '255.255.255.255', 'a single address of the host (never 0.0.0.0: the member binds to this address only)');

const hostListSchema = z.array(hostNameSchema).min(1, 'at least one host');

export const clusterHostSchema = z.strictObject({
  /** The member binds to this address only and advertises it; the other members join it here. */
  address: bindAddressSchema,
});

export const clusterColourSchema = z.strictObject({
  /** Hosts that run this colour's trader. */
  hosts: hostListSchema,
  /** Its registry entry (default `event-trader-<colour in lower case>`). */
  service: serviceNameSchema.optional(),
  /** Its own strategy parameters: checked against the strategy's schema by `parseClusterFile`'s caller. */
  params: z.record(z.string(), z.unknown(), { error: (i) => (i.input === undefined ? 'missing: a colour needs its own strategy parameters' : 'an object of strategy parameters') }).refine((p) => Object.keys(p).length > 0, 'a colour needs its own strategy parameters (at least one)'),
});

export const clusterFileSchema = z.strictObject({
  clusterName: z.string().min(1).default('dolphin'),
  /** Every member's port (one member per host). */
  memberPort: z.number().int().min(1).max(65_535).default(5701),
  hosts: z.record(hostNameSchema, clusterHostSchema).refine((h) => Object.keys(h).length > 0, 'at least one host'),
  /** Registry entry → the hosts it runs on. Entries not placed run nowhere. */
  placement: z.record(serviceNameSchema, hostListSchema).default({}),
  colours: z.record(colourNameSchema, clusterColourSchema).default({}),
}).superRefine((f, ctx) => {
  const known = Object.keys(f.hosts);
  const byAddress = new Map<string, string>();
  for (const [name, h] of Object.entries(f.hosts)) {
    const first = byAddress.get(h.address);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['hosts', name, 'address'], message: `${h.address} is also the address of ${first} (one member per host, each its own address)` });
    else byAddress.set(h.address, name);
  }
  const checkHosts = (hosts: readonly string[], path: (string | number)[]) => {
    hosts.forEach((h, i) => {
      if (!known.includes(h)) ctx.addIssue({ code: 'custom', path: [...path, i], message: `${h} is not a host of this file (${known.join(', ')})` });
      else if (hosts.indexOf(h) !== i) ctx.addIssue({ code: 'custom', path: [...path, i], message: `${h} is named twice` });
    });
  };
  for (const [service, hosts] of Object.entries(f.placement)) checkHosts(hosts, ['placement', service]);
  for (const [colour, c] of Object.entries(f.colours)) checkHosts(c.hosts, ['colours', colour, 'hosts']);
});
export type ClusterFile = z.infer<typeof clusterFileSchema>;

/** The registry entry that runs a colour's trader. */
export function colourService(colour: string, c: ClusterFile['colours'][string]): string {
  return c.service ?? `event-trader-${colour.toLowerCase()}`;
}

/** `a.b[2]: reason` for each issue, as the config errors read. */
function issueLines(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): string[] {
  return issues.map((i) => {
    const p = [...prefix, ...i.path].map((s, n) => (typeof s === 'number' ? `[${s}]` : `${n === 0 ? '' : '.'}${String(s)}`)).join('');
    return `${p || '(file)'}: ${i.message}`;
  });
}

export interface ParseClusterOptions {
  /** Names the file in the message. */
  source: string;
  /** The strategy's own parameter schema: every colour's `params` must pass it. */
  paramsSchema?: z.ZodType;
}

/**
 * Parses and checks a cluster file's content; throws DOLPHIN_CLUSTER_FILE_INVALID listing every
 * problem with its field (`hosts.h2.address: …`, `colours.GREEN.params.velDivThreshold: …`).
 */
export function parseClusterFile(raw: unknown, o: ParseClusterOptions): Readonly<ClusterFile> {
  const parsed = clusterFileSchema.safeParse(raw);
  const problems = parsed.success ? [] : issueLines(parsed.error.issues);
  if (parsed.success && o.paramsSchema) {
    for (const [colour, c] of Object.entries(parsed.data.colours)) {
      const p = o.paramsSchema.safeParse(c.params);
      if (!p.success) problems.push(...issueLines(p.error.issues, ['colours', colour, 'params']));
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw makeError(CoreErrors.DOLPHIN_CLUSTER_FILE_INVALID, `${o.source}: ${problems.join('; ')}`, { details: { problems } });
  }
  return Object.freeze(parsed.data);
}
