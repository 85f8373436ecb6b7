import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeError, SEAL_KEY_MIN_BYTES, ValueSeal } from '@dolphin/core';
import { HzErrors } from './errors.ts';

/** The key's file name, in the state folder or among systemd's credentials. */
export const SEAL_KEY_NAME = 'dolphin.key';

/**
 * Where the seal key lives: `security.keyFile` when configured; under systemd
 * `$CREDENTIALS_DIRECTORY/dolphin.key` (LoadCredential=); else `<stateDir>/dolphin.key`.
 */
export function sealKeyPath(stateDir: string, configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  const creds = env.CREDENTIALS_DIRECTORY;
  if (creds && existsSync(path.join(creds, SEAL_KEY_NAME))) return path.join(creds, SEAL_KEY_NAME);
  return path.join(stateDir, SEAL_KEY_NAME);
}

/**
 * Reads the seal key (64 hex characters or more), creating it when `create` and it is missing:
 * 32 random bytes, mode 0600, written beside and linked into place so that two services starting
 * together end up with the same key (the second link fails and that one reads the first's).
 * A key other users may read is refused: whoever reads it can forge every value.
 */
export function loadSealKey(file: string, options: { create: boolean }): Buffer {
  if (!existsSync(file)) {
    if (!options.create) throw makeError(HzErrors.DOLPHIN_HZ_SEAL_KEY, `seal key ${file}: no such file`);
    createKey(file);
  }
  let st;
  let text: string;
  try {
    st = statSync(file);
    text = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw makeError(HzErrors.DOLPHIN_HZ_SEAL_KEY, `seal key ${file}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
  }
  if ((st.mode & 0o007) !== 0) {
    throw makeError(HzErrors.DOLPHIN_HZ_SEAL_KEY, `seal key ${file}: other users may read it (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it, or make a new one`);
  }
  if (!/^[0-9a-f]+$/i.test(text) || text.length < SEAL_KEY_MIN_BYTES * 2 || text.length % 2 !== 0) {
    throw makeError(HzErrors.DOLPHIN_HZ_SEAL_KEY, `seal key ${file}: must be at least ${SEAL_KEY_MIN_BYTES * 2} hex characters`);
  }
  return Buffer.from(text, 'hex');
}

function createKey(file: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    writeFileSync(tmp, `${randomBytes(SEAL_KEY_MIN_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first: use theirs
    }
  } catch (cause) {
    throw makeError(HzErrors.DOLPHIN_HZ_SEAL_KEY, `seal key ${file}: cannot be created (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The seal of this install: the key at `sealKeyPath(...)`, created when missing (services do; tools only read). */
export function openSeal(stateDir: string, configured: string | undefined, options: { create: boolean }): ValueSeal {
  return new ValueSeal(loadSealKey(sealKeyPath(stateDir, configured), options));
}
