import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CoreErrors, makeError } from './errors.ts';

/** A token is at least this long. */
export const TOKEN_MIN_CHARS = 16;

/**
 * The token in `file` (trimmed): at least 16 characters, and not readable by other users (a token
 * anyone can read protects nothing). Throws DOLPHIN_CONFIG_SECRET naming `field` and the file.
 */
export function readTokenFile(file: string, field: string): string {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw makeError(CoreErrors.DOLPHIN_CONFIG_SECRET, `${field}: ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
  }
  if ((mode & 0o007) !== 0) throw makeError(CoreErrors.DOLPHIN_CONFIG_SECRET, `${field}: ${file} may be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  if (text.length < TOKEN_MIN_CHARS) throw makeError(CoreErrors.DOLPHIN_CONFIG_SECRET, `${field}: ${file} holds ${text.length} characters; a token needs at least ${TOKEN_MIN_CHARS}`);
  return text;
}

/**
 * The token of `name` (jobs, dashboard): from `tokenFile` when configured, else from systemd's
 * credentials (`$CREDENTIALS_DIRECTORY/<name>.token`, LoadCredential=), else none. `required`
 * (the production configuration): none is an error naming the field.
 */
export function resolveToken(name: string, tokenFile: string | undefined, required: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const field = `${name}.tokenFile`;
  if (tokenFile) return readTokenFile(tokenFile, field);
  const cred = env.CREDENTIALS_DIRECTORY ? path.join(env.CREDENTIALS_DIRECTORY, `${name}.token`) : undefined;
  if (cred && existsSync(cred)) return readTokenFile(cred, `credential ${name}.token`);
  if (required) {
    throw makeError(CoreErrors.DOLPHIN_CONFIG_SECRET,
      `${field}: the production configuration requires a ${name} token: a file of ${TOKEN_MIN_CHARS}+ characters, mode 0600 (or LoadCredential=${name}.token under systemd)`);
  }
  return undefined;
}

/** Environment variable names that carry secrets: never passed on to a process that was not given them by name. */
export const SECRET_ENV_RE = /(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;

/**
 * Is the variable named like a secret? A name ending in `File` or `_FILE`
 * (`DOLPHIN__jobs__tokenFile`) names where a secret is, not the secret: it is passed on (the
 * file's mode guards it), or `dolphin up` could not be pointed at a token file from the environment.
 */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_RE.test(name) && !/(File|_FILE)$/.test(name);
}
