import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** The file an install leaves at its prefix: what it is, and what it made that uninstall removes. */
export const MANIFEST_NAME = '.dolphin-install.json';

export const installManifestSchema = z.strictObject({
  /** The content of the code installed (fingerprint of the source tree and its lockfile). */
  fingerprint: z.string(),
  source: z.string(),
  installedAt: z.string(),
  user: z.string(),
  /** The install created the user (uninstall removes it, a re-run does not call it someone else's). */
  userCreated: z.boolean(),
  scansDir: z.string(),
  /** Folders and files outside the prefix this install created. */
  created: z.array(z.string()),
});
export type InstallManifest = z.infer<typeof installManifestSchema>;

export const manifestPath = (prefix: string) => path.join(prefix, MANIFEST_NAME);

/** The manifest at `prefix`: undefined when there is none; an error naming the file when it is not one. */
export function readManifest(prefix: string): InstallManifest | undefined {
  const file = manifestPath(prefix);
  if (!existsSync(file)) return undefined;
  const r = installManifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new Error(`${file}: not an install manifest (${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  return r.data;
}
