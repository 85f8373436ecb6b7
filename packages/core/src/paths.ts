import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root, found from this file's place in packages/core/src. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A path from config: absolute as given, relative ones against the checkout's root (not the cwd). */
export function fromRoot(p: string): string {
  return path.isAbsolute(p) ? p : path.join(REPO_ROOT, p);
}
