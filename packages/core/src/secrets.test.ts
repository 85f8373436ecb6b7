import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { isDolphinError } from './errors.ts';
import { isSecretEnvName, readTokenFile, resolveToken } from './secrets.ts';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'dolphin-secrets-'));
const file = (d: string, name: string, text: string, mode = 0o600) => {
  const f = path.join(d, name);
  writeFileSync(f, text, { mode });
  chmodSync(f, mode);
  return f;
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return isDolphinError(err) ? `${err.code}: ${err.message}` : String(err);
  }
  return 'no error';
};

describe('tokens come from files', () => {
  it('a token file of the owner alone is read (trimmed); one other users may read, or a short one, is refused naming the field', () => {
    const d = dir();
    expect(readTokenFile(file(d, 'ok', 'a-token-of-sixteen-chars\n'), 'jobs.tokenFile')).toBe('a-token-of-sixteen-chars');
    expect(codeOf(() => readTokenFile(file(d, 'open', 'a-token-of-sixteen-chars', 0o644), 'jobs.tokenFile'))).toMatch(/^DOLPHIN_CONFIG_SECRET: jobs\.tokenFile: .* may be read by other users \(mode 644\)/);
    expect(codeOf(() => readTokenFile(file(d, 'short', 'short'), 'jobs.tokenFile'))).toMatch(/holds 5 characters; a token needs at least 16/);
    expect(codeOf(() => readTokenFile(path.join(d, 'missing'), 'jobs.tokenFile'))).toMatch(/cannot be read \(ENOENT\)/);
  });

  it('systemd\'s credential when no file is configured; production requires one', () => {
    const creds = dir();
    file(creds, 'dashboard.token', 'dashboard-token-from-systemd');
    expect(resolveToken('dashboard', undefined, true, { CREDENTIALS_DIRECTORY: creds })).toBe('dashboard-token-from-systemd');
    expect(resolveToken('jobs', undefined, false, {})).toBeUndefined();
    expect(codeOf(() => resolveToken('jobs', undefined, true, {}))).toMatch(/^DOLPHIN_CONFIG_SECRET: jobs\.tokenFile: the production configuration requires a jobs token/);
  });

  it('a token in the environment (or inline in the configuration) is refused, saying to use a file', () => {
    const msg = codeOf(() => loadConfig({ dir: dir(), environ: { DOLPHIN__jobs__token: '"a-token-of-sixteen-chars"' } }));
    expect(msg).toMatch(/^DOLPHIN_CONFIG_INVALID: invalid configuration:\n  - jobs\.token: tokens come from files, never from the configuration or the environment: .* set jobs\.tokenFile \(from environment\)/);
  });
});

describe('secret-looking environment names', () => {
  it('a secret is held back; where a secret is (a …File name) is not', () => {
    for (const n of ['DOLPHIN_JOBS_TOKEN', 'API_SECRET', 'DB_PASSWORD', 'AWS_CREDENTIALS', 'dolphin__jobs__token']) expect(isSecretEnvName(n), n).toBe(true);
    for (const n of ['DOLPHIN__jobs__tokenFile', 'DOLPHIN__dashboard__tokenFile', 'JOBS_TOKEN_FILE', 'PATH', 'DOLPHIN_CACHE']) expect(isSecretEnvName(n), n).toBe(false);
  });
});
