import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@dolphin/core';
import { DEFAULT_UNIT_OPTIONS, effectiveRegistry, polkitRule, POLKIT_RULE_FILE, systemdUnits, unitOptionsFor, type UnitOptions } from '@dolphin/supervisor';
import { REPO_ROOT } from '../paths.ts';

export const UNIT_DIR = path.join(REPO_ROOT, 'deploy/systemd');
/** Every unit's exposure (systemd-analyze security) must be this or lower. */
export const MAX_EXPOSURE = 2.0;

/** The units of the production registry (config + config/dolphin.prod.json, no environment variables). */
export function productionUnits(options: UnitOptions = DEFAULT_UNIT_OPTIONS): Map<string, string> {
  const config = loadConfig({ env: 'prod', environ: {} });
  return systemdUnits(effectiveRegistry(config, { ownMember: true }), config, options);
}

export function generate(o: { out: string; prefix: string; user: string }): number {
  const units = productionUnits(unitOptionsFor(o.prefix, { user: o.user }));
  mkdirSync(o.out, { recursive: true });
  for (const old of readdirSync(o.out)) if (/^dolphin.*\.(service|target|timer)$/.test(old) && !units.has(old)) rmSync(path.join(o.out, old));
  for (const [name, text] of units) writeFileSync(path.join(o.out, name), text);
  mkdirSync(path.join(o.out, 'polkit'), { recursive: true });
  writeFileSync(path.join(o.out, 'polkit', POLKIT_RULE_FILE), polkitRule(o.user));
  console.log(`dolphin: wrote ${units.size} units to ${o.out}: ${[...units.keys()].join(', ')}; and polkit/${POLKIT_RULE_FILE}`);
  return 0;
}

export interface VerifyResult {
  verify: { ok: boolean; output: string };
  exposure: Map<string, number>;
}

/**
 * systemd-analyze on the unit files of `dir`: `verify --recursive-errors=yes` in a scratch root
 * (the system's units, these, and a stand-in for every program they start), and
 * `security --offline=yes` for each unit's exposure.
 */
export function verifyUnits(dir: string): VerifyResult {
  const files = readdirSync(dir).filter((f) => /\.(service|target|timer)$/.test(f)).sort();
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-units-'));
  try {
    const sys = path.join(root, 'usr/lib/systemd/system');
    mkdirSync(sys, { recursive: true });
    for (const d of ['/usr/lib/systemd/system', '/lib/systemd/system']) if (existsSync(d)) cpSync(d, sys, { recursive: true, dereference: false, force: false, errorOnExist: false });
    const etc = path.join(root, 'etc/systemd/system');
    mkdirSync(etc, { recursive: true });
    for (const f of files) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      writeFileSync(path.join(etc, f), text);
      for (const m of text.matchAll(/^ExecStart=(\S+)/gm)) {
        const bin = path.join(root, (m[1] as string).replace(/^"|"$/g, ''));
        mkdirSync(path.dirname(bin), { recursive: true });
        if (!existsSync(bin)) writeFileSync(bin, '#!/bin/sh\n');
        chmodSync(bin, 0o755);
      }
    }
    const v = spawnSync('systemd-analyze', ['verify', '--recursive-errors=yes', `--root=${root}`, ...files], { encoding: 'utf8' });
    const exposure = new Map<string, number>();
    for (const f of files.filter((x) => x.endsWith('.service'))) {
      const out = execFileSync('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, `/etc/systemd/system/${f}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const m = /Overall exposure level for \S+: ([\d.]+)/.exec(out);
      exposure.set(f, m ? Number(m[1]) : Number.NaN);
    }
    return { verify: { ok: v.status === 0 && !/\S/.test(v.stderr ?? ''), output: `${v.stdout ?? ''}${v.stderr ?? ''}`.trim() }, exposure };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function verify(o: { dir: string }): number {
  const r = verifyUnits(o.dir);
  console.log(`systemd-analyze verify: ${r.verify.ok ? 'ok' : 'FAILED'}${r.verify.output ? `\n${r.verify.output}` : ''}`);
  let ok = r.verify.ok;
  for (const [unit, e] of r.exposure) {
    const good = e <= MAX_EXPOSURE;
    ok &&= good;
    console.log(`  ${unit.padEnd(30)} exposure ${e.toFixed(1)} ${good ? 'ok' : `over ${MAX_EXPOSURE}`}`);
  }
  return ok ? 0 : 1;
}
