import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICES, isDolphinError, parseClusterFile, REPO_ROOT, serviceRegistrySchema } from '@dolphin/core';
import { localAddresses, placeHost } from './cluster-placement.ts';

const raw = () => JSON.parse(readFileSync(path.join(REPO_ROOT, 'config/cluster.example.json'), 'utf8')) as Record<string, any>;
const cluster = (r = raw()) => parseClusterFile(r, { source: 'c.json' });
const registry = serviceRegistrySchema.parse(DEFAULT_SERVICES);
const LOCAL = ['127.0.0.1', '127.77.0.1', '127.77.0.2', '127.77.0.3'];

function refusal(f: () => unknown): { code: string; message: string } {
  try { f(); } catch (err) { if (isDolphinError(err)) return { code: err.code, message: err.message }; throw err; }
  throw new Error('placed without a refusal');
}

describe('placeHost', () => {
  it('h1 of the example: its member bound to 127.77.0.1, all three members joined, only what is placed on h1 enabled', () => {
    const p = placeHost({ cluster: cluster(), source: 'c.json', host: 'h1', registry, local: LOCAL });
    expect(p.address).toBe('127.77.0.1');
    expect(p.members).toEqual(['127.77.0.1:5701', '127.77.0.2:5701', '127.77.0.3:5701']);
    expect(p.placed.sort()).toEqual(['dashboard', 'event-trader', 'indicators', 'member', 'meta-health', 'scan-bridge']);
    expect(p.registry.safety?.enabled).toBe(false);
    expect(p.registry['jobs-api']?.enabled).toBe(false);
    expect(p.registry.member?.readiness).toMatchObject({ kind: 'http', url: 'http://127.77.0.1:5701/hazelcast/health/ready' });
    expect(p.notes).toEqual([]);
    // BLUE runs on h1 and h2: the registry's event-trader, told its colour and parameters, a hot standby.
    const blue = raw().colours.BLUE;
    expect(p.registry['event-trader']?.env).toMatchObject({ DOLPHIN__trader__colour: 'BLUE', DOLPHIN__trader__standby: 'true', DOLPHIN__trader__strategy: JSON.stringify(blue.params) });
    expect(p.registry['event-trader-green']?.enabled).toBe(false);
    // The bridge runs on two hosts: a standby on each.
    expect(p.registry['scan-bridge']?.env).toMatchObject({ DOLPHIN__bridge__standby: 'true' });
    expect(p.registry.safety?.env).toMatchObject({ DOLPHIN__safety__standby: 'true' });
  });

  it('h3 runs no BLUE trader, the jobs API and the daily batch', () => {
    const p = placeHost({ cluster: cluster(), source: 'c.json', host: 'h3', registry, local: LOCAL });
    expect(p.placed.sort()).toEqual(['daily', 'event-trader-green', 'indicators', 'jobs-api', 'member', 'meta-health', 'safety']);
    // GREEN has no entry of its own: one made from event-trader, with GREEN's colour and parameters, no metrics port of BLUE's.
    expect(p.registry['event-trader-green']).toMatchObject({ main: 'services/event-trader/src/main.ts', metricsPort: 0, enabled: true });
    expect(p.registry['event-trader-green']?.env).toMatchObject({ DOLPHIN__trader__colour: 'GREEN', DOLPHIN__trader__standby: 'true', DOLPHIN__trader__strategy: JSON.stringify(raw().colours.GREEN.params) });
  });

  it('an unknown or missing host is refused naming it and the hosts', () => {
    expect(refusal(() => placeHost({ cluster: cluster(), source: 'c.json', host: 'h9', registry, local: LOCAL })))
      .toEqual({ code: 'DOLPHIN_CLUSTER_HOST_UNKNOWN', message: 'host: h9 is not a host of c.json (h1, h2, h3)' });
    expect(refusal(() => placeHost({ cluster: cluster(), source: 'c.json', host: undefined, registry, local: LOCAL })).message)
      .toBe('host: c.json needs --host <name> or DOLPHIN_HOST, one of h1, h2, h3');
  });

  it("an address that is not this machine's is refused, listing the machine's", () => {
    expect(refusal(() => placeHost({ cluster: cluster(), source: 'c.json', host: 'h2', registry, local: ['127.0.0.1', '127.0.0.9'] })))
      .toEqual({ code: 'DOLPHIN_CLUSTER_ADDRESS_NOT_LOCAL', message: 'c.json: hosts.h2.address: 127.77.0.2 is not an address of this machine (it has 127.0.0.1, 127.0.0.9)' });
  });

  it('a placed service the registry does not have, or a named colour service it does not have, is refused naming the field', () => {
    const r = raw();
    r.placement['no-such'] = ['h1'];
    r.colours.GREEN.service = 'trader-green';
    const e = refusal(() => placeHost({ cluster: cluster(r), source: 'c.json', host: 'h1', registry, local: LOCAL }));
    expect(e.code).toBe('DOLPHIN_CLUSTER_SERVICE_UNKNOWN');
    expect(e.message).toContain('placement.no-such: not in the service registry (member, ');
    expect(e.message).toContain('colours.GREEN.service: not in the service registry');
  });

  it("this machine's addresses include loopback", () => {
    expect(localAddresses()).toContain('127.0.0.1');
  });
});
