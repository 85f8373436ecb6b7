import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { colourService, parseClusterFile } from './cluster-schema.ts';
import { isDolphinError } from './errors.ts';
import { REPO_ROOT } from './paths.ts';

const example = () => JSON.parse(readFileSync(path.join(REPO_ROOT, 'config/cluster.example.json'), 'utf8')) as Record<string, any>;
// Stands in for the strategy's schema (core cannot depend on packages/strategy): strict, one bound.
const params = z.strictObject({ velDivThreshold: z.number().max(0).optional(), algoVersion: z.string().optional(), capitalFraction: z.number().optional(), takeProfitPct: z.number().optional(), stopLossPct: z.number().optional() });

function problemOf(raw: unknown): string {
  try {
    parseClusterFile(raw, { source: 'c.json', paramsSchema: params });
  } catch (err) {
    if (isDolphinError(err, 'DOLPHIN_CLUSTER_FILE_INVALID')) return err.message;
    throw err;
  }
  throw new Error('parsed without a problem');
}

describe('the cluster file', () => {
  it('the example parses: three hosts on 127.77.0.x, port 5701, two colours', () => {
    const f = parseClusterFile(example(), { source: 'example', paramsSchema: params });
    expect(Object.entries(f.hosts).map(([h, v]) => `${h}=${v.address}`)).toEqual(['h1=127.77.0.1', 'h2=127.77.0.2', 'h3=127.77.0.3']);
    expect(f.memberPort).toBe(5701);
    expect(Object.keys(f.colours)).toEqual(['BLUE', 'GREEN']);
    expect(colourService('BLUE', f.colours.BLUE!)).toBe('event-trader');
    expect(colourService('GREEN', f.colours.GREEN!)).toBe('event-trader-green');
    expect(Object.isFrozen(f)).toBe(true);
  });

  it('a duplicate address names the second host', () => {
    const raw = example();
    raw.hosts.h2.address = '127.77.0.1';
    expect(problemOf(raw)).toBe('c.json: hosts.h2.address: 127.77.0.1 is also the address of h1 (one member per host, each its own address)');
  });

  it('0.0.0.0 or a name instead of an address is refused', () => {
    const raw = example();
    raw.hosts.h1.address = '0.0.0.0';
    raw.hosts.h3.address = 'h3.example';
    const msg = problemOf(raw);
    expect(msg).toContain('hosts.h1.address: a single address of the host (never 0.0.0.0');
    expect(msg).toContain('hosts.h3.address:');
  });

  it('an unknown host in the placement or a colour names the field and lists the hosts', () => {
    const raw = example();
    raw.placement.safety = ['h2', 'h7'];
    raw.colours.GREEN.hosts = ['h9'];
    const msg = problemOf(raw);
    expect(msg).toContain('placement.safety[1]: h7 is not a host of this file (h1, h2, h3)');
    expect(msg).toContain('colours.GREEN.hosts[0]: h9 is not a host of this file (h1, h2, h3)');
  });

  it('a colour without parameters, or with empty ones, is refused naming it', () => {
    const raw = example();
    delete raw.colours.GREEN.params;
    raw.colours.BLUE.params = {};
    const msg = problemOf(raw);
    expect(msg).toContain('colours.GREEN.params: missing: a colour needs its own strategy parameters');
    expect(msg).toContain('colours.BLUE.params: a colour needs its own strategy parameters');
  });

  it("a colour's parameters are checked against the strategy's schema, field by field", () => {
    const raw = example();
    raw.colours.GREEN.params.velDivThreshold = 0.5;
    raw.colours.BLUE.params.noSuchParam = 1;
    const msg = problemOf(raw);
    expect(msg).toContain('colours.GREEN.params.velDivThreshold:');
    expect(msg).toContain('colours.BLUE.params:');
    expect(msg).toContain('noSuchParam');
  });

  it('unknown fields and bad names are refused (strict)', () => {
    const raw = example();
    raw.extra = 1;
    raw.colours.green = raw.colours.GREEN;
    const msg = problemOf(raw);
    expect(msg).toContain('extra');
    expect(msg).toContain('colours.green');
  });
});
