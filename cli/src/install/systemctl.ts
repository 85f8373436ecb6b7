import { spawnSync } from 'node:child_process';
import { parseSystemctlShow } from '@dolphin/supervisor';

export interface Ran {
  code: number;
  out: string;
}

/** Runs a program to completion; never throws on a non-zero exit (the caller decides). */
export function run(cmd: string, args: readonly string[], input?: string): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (r.error) return { code: 127, out: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 128, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Runs a program that must succeed: an error quoting its output otherwise. */
export function must(cmd: string, args: readonly string[]): string {
  const r = run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.out || 'no output'}`);
  return r.out;
}

export const systemctl = (...args: string[]) => run('systemctl', args);

/** `systemctl show` of these units, one record of properties per unit in the order given. */
export function showUnits(units: readonly string[], props: readonly string[]): Array<Record<string, string>> {
  if (units.length === 0) return [];
  const r = run('systemctl', ['show', `--property=${props.join(',')}`, ...units]);
  if (r.code !== 0) throw new Error(`systemctl show failed (exit ${r.code}): ${r.out}`);
  return parseSystemctlShow(r.out, units.length);
}

/** Is systemd the init of this machine (sd_booted(3): /run/systemd/system exists)? */
export const systemdBooted = (exists: (p: string) => boolean) => exists('/run/systemd/system');
