import path from 'node:path';
import { INDICATOR_PUBLISHERS, makeError, REPO_ROOT, serviceEntrySchema, type DolphinConfig, type ServiceEntry, type ServiceRegistry } from '@dolphin/core';
import { SupervisorErrors } from './errors.ts';

/** A registry entry with its name, as the supervisor runs it. */
export interface NamedEntry extends ServiceEntry {
  name: string;
}

/**
 * Start order: every process after the ones it depends on, otherwise in registry order. Throws
 * naming the cycle when there is one (the schema already refused unknown names).
 */
export function startOrder(registry: ServiceRegistry): NamedEntry[] {
  const out: NamedEntry[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_DEPENDENCY_CYCLE, `services depend on each other in a cycle: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    const entry = registry[name] as ServiceEntry;
    for (const dep of entry.dependsOn) visit(dep, [...trail, name]);
    state.set(name, 'done');
    out.push({ ...entry, name });
  };
  for (const name of Object.keys(registry)) visit(name, []);
  return out;
}

/**
 * The registry as it runs: disabled entries left out; no member when Dolphin joins a cluster it
 * does not own (HZ_MEMBERS); the indicators split into one process per publisher when
 * `indicators.processes` is `each` (each keeps the entry's limits and dependencies).
 */
export function effectiveRegistry(config: Readonly<DolphinConfig>, options: { ownMember: boolean }): ServiceRegistry {
  const out: ServiceRegistry = {};
  const became = new Map<string, string[]>();
  for (const [name, e] of Object.entries(config.services)) {
    if (!e.enabled || (e.kind === 'member' && !options.ownMember)) {
      became.set(name, []);
      continue;
    }
    if (name === 'indicators' && e.kind === 'service' && config.indicators.processes === 'each') {
      const names = INDICATOR_PUBLISHERS.map((p, i) => {
        out[`indicators-${p}`] = {
          ...e, main: e.main ?? 'services/indicators/src/main.ts', args: [...e.args, '--only', p],
          metricsPort: e.metricsPort === 0 ? 0 : e.metricsPort + 100 * (i + 1),
        };
        return `indicators-${p}`;
      });
      became.set(name, names);
      continue;
    }
    out[name] = { ...e };
  }
  for (const e of Object.values(out)) e.dependsOn = e.dependsOn.flatMap((d) => became.get(d) ?? [d]);
  return out;
}

/** A registry entry from a plain object (tests, `up --demo`'s producer): validated, defaults filled in. */
export function entry(spec: Record<string, unknown>): ServiceEntry {
  return serviceEntrySchema.parse(spec);
}

/** The main file of a service entry. */
export function mainOf(name: string, e: ServiceEntry): string {
  return path.resolve(REPO_ROOT, e.main ?? `services/${name}/src/main.ts`);
}
