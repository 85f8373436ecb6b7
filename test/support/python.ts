import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@dolphin/hz';

let cached: string | undefined;

/** A python with hazelcast-python-client, installed by the bootstrap on first use. */
export function pythonWithHazelcast(): string {
  if (cached) return cached;
  if (process.env.DOLPHIN_PYTHON) return (cached = process.env.DOLPHIN_PYTHON);
  const script = `. "${path.join(REPO_ROOT, 'scripts/bootstrap.sh')}" && dolphin_ensure_python_clients && printf %s "$DOLPHIN_PYTHON"`;
  cached = execFileSync('bash', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return cached;
}

export const PY_CLIENT_SCRIPT = path.join(REPO_ROOT, 'test/clients/hz_json.py');
