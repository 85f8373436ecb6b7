import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoreErrors, REPO_ROOT, type ErrorSpec } from '@dolphin/core';
import { HzErrors } from '@dolphin/hz';
import { KitErrors } from '@dolphin/service-kit';
import { ScanFileErrors } from '@dolphin/scanfile';
import { SupervisorErrors } from '@dolphin/supervisor';
import { JobsErrors } from '@dolphin/jobs-api';
import { LedgerErrors } from '@dolphin/ledger';

const CATALOGUES: Record<string, Record<string, ErrorSpec>> = { core: CoreErrors, hz: HzErrors, 'service-kit': KitErrors, scanfile: ScanFileErrors, supervisor: SupervisorErrors, 'jobs-api': JobsErrors, ledger: LedgerErrors };

describe('docs/errors.md', () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/errors.md'), 'utf8');
  const documented = new Map<string, string>();
  for (const m of doc.matchAll(/^\|\s*`(DOLPHIN_[A-Z0-9_]+)`\s*\|\s*([a-z-]+)\s*\|\s*(yes|no)\s*\|/gm)) documented.set(m[1] as string, `${m[2]}:${m[3]}`);

  it('lists every error code of every package, with its package and retryable flag', () => {
    for (const [pkg, catalogue] of Object.entries(CATALOGUES)) {
      for (const spec of Object.values(catalogue)) {
        expect(documented.get(spec.code), spec.code).toBe(`${pkg}:${spec.retryable ? 'yes' : 'no'}`);
      }
    }
  });

  it('lists no code that the code does not have', () => {
    const known = new Set(Object.values(CATALOGUES).flatMap((c) => Object.keys(c)));
    for (const code of documented.keys()) expect(known.has(code), code).toBe(true);
  });

  it('codes are unique across packages and follow DOLPHIN_<AREA>_<WHAT>', () => {
    const all = Object.values(CATALOGUES).flatMap((c) => Object.keys(c));
    expect(new Set(all).size).toBe(all.length);
    for (const code of all) expect(code).toMatch(/^DOLPHIN_[A-Z]+_[A-Z0-9_]+$/);
  });
});
