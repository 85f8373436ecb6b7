import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

/** A version pinned in scripts/versions.env (`DOLPHIN_<KEY>_VERSION=`), the one file the bootstrap reads too. */
export function pinnedVersion(key: 'NODE' | 'PNPM' | 'HZ' | 'HZ_PYTHON_CLIENT' | 'PYARROW', root = REPO_ROOT): string {
  const file = path.join(root, 'scripts/versions.env');
  const m = new RegExp(`^DOLPHIN_${key}_VERSION=(\\S+)`, 'm').exec(readFileSync(file, 'utf8'));
  if (!m?.[1]) throw new Error(`${file}: DOLPHIN_${key}_VERSION is missing`);
  return m[1];
}
