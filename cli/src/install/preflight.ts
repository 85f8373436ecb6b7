import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeError, type ServiceRegistry, type DolphinConfig } from '@dolphin/core';
import { SupervisorErrors } from '@dolphin/supervisor';
import type { InstallManifest } from './manifest.ts';
import { run, systemdBooted } from './systemctl.ts';

const E = SupervisorErrors;

export interface InstallOptions {
  prefix: string;
  user: string;
  scans?: string;
  dryRun: boolean;
  /** Seconds to wait for every unit active and health GREEN. */
  waitS: number;
}

/** Root, and a running systemd to install into. */
export function checkHost(): void {
  if (process.getuid?.() !== 0) throw makeError(E.DOLPHIN_INSTALL_NOT_ROOT, 'installing Dolphin as a service needs root: run sudo ./dolphin install (it creates a user, writes /etc and starts units)');
  if (!systemdBooted(existsSync)) {
    let init = '?';
    try {
      init = readFileSync('/proc/1/comm', 'utf8').trim();
    } catch { /* unknown */ }
    throw makeError(E.DOLPHIN_INSTALL_NO_SYSTEMD, `this machine does not run systemd (PID 1 is ${init}, no /run/systemd/system): there is nothing to install units into; run Dolphin with ./dolphin up`);
  }
  if (run('systemctl', ['--version']).code !== 0) throw makeError(E.DOLPHIN_INSTALL_NO_SYSTEMD, 'systemctl does not run here: install the systemd package, or run Dolphin with ./dolphin up');
}

/** Absolute paths, and a prefix that is neither the checkout nor inside it (nor it inside the prefix). */
export function checkOptions(o: InstallOptions, source: string): void {
  for (const [flag, p] of [['--prefix', o.prefix], ['--scans', o.scans]] as const) {
    if (p !== undefined && !path.isAbsolute(p)) throw makeError(E.DOLPHIN_INSTALL_BAD_OPTION, `${flag} ${p}: must be an absolute path`);
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) throw makeError(E.DOLPHIN_INSTALL_BAD_OPTION, `--user ${o.user}: not a user name (lower-case letters, digits, _ and -)`);
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
  if (inside(o.prefix, source) || inside(source, o.prefix)) {
    throw makeError(E.DOLPHIN_INSTALL_BAD_OPTION, `--prefix ${o.prefix}: the checkout being installed is ${source}; the prefix must be a folder of its own outside it`);
  }
  if (o.scans && existsSync(o.scans) && !statSync(o.scans).isDirectory()) throw makeError(E.DOLPHIN_INSTALL_BAD_OPTION, `--scans ${o.scans}: exists and is not a folder`);
}

/** The prefix is empty, missing, or an install of ours for the same user. */
export function checkPrefix(o: InstallOptions, manifest: InstallManifest | undefined): void {
  if (manifest) {
    if (manifest.user !== o.user) throw makeError(E.DOLPHIN_INSTALL_PREFIX_TAKEN, `${o.prefix} holds an install for user ${manifest.user}, not ${o.user}: run dolphin uninstall --prefix ${o.prefix} first, or choose another --prefix`);
    return;
  }
  if (!existsSync(o.prefix)) return;
  if (!statSync(o.prefix).isDirectory()) throw makeError(E.DOLPHIN_INSTALL_PREFIX_TAKEN, `${o.prefix} is a file, not a folder: choose another --prefix`);
  const entries = readdirSync(o.prefix);
  if (entries.length === 0) return;
  const what = entries.includes('.git') ? 'a git checkout' : `${entries.length} entries (${entries.slice(0, 4).join(', ')}${entries.length > 4 ? ', …' : ''})`;
  throw makeError(E.DOLPHIN_INSTALL_PREFIX_TAKEN, `${o.prefix} already holds ${what} that dolphin install did not put there: move it away or choose another --prefix; nothing was changed`);
}

/** A passwd entry, or undefined. */
export function passwdEntry(user: string): { uid: number; home: string; shell: string } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === user) return { uid: Number(f[2]), home: f[5] ?? '', shell: f[6] ?? '' };
  }
  return undefined;
}

/** The user is new, or the one an earlier install created. */
export function checkUser(o: InstallOptions, manifest: InstallManifest | undefined): boolean {
  const existing = passwdEntry(o.user);
  if (!existing) return false;
  if (manifest?.userCreated && manifest.user === o.user) return true;
  throw makeError(E.DOLPHIN_INSTALL_USER_EXISTS,
    `user ${o.user} already exists (uid ${existing.uid}, home ${existing.home}, shell ${existing.shell}) and was not created by dolphin install: the services must run as a user of their own; choose another with --user, or remove ${o.user} first; nothing was changed`);
}

/** Every fixed port of the registry on 127.0.0.1, with the entry it belongs to. */
export function registryPorts(registry: ServiceRegistry, config: Readonly<DolphinConfig>): Array<{ port: number; owner: string }> {
  const out: Array<{ port: number; owner: string }> = [];
  for (const [name, e] of Object.entries(registry)) {
    if (e.kind === 'member') out.push({ port: config.member.port, owner: `${name} (member.port)` });
    if (e.metricsPort > 0) out.push({ port: e.metricsPort, owner: `${name} (metrics)` });
    if (name === 'jobs-api' && config.jobs.port > 0) out.push({ port: config.jobs.port, owner: 'jobs-api (jobs.port)' });
    if (name === 'dashboard' && config.dashboard.port > 0) out.push({ port: config.dashboard.port, owner: 'dashboard (dashboard.port)' });
  }
  return out;
}

const taken = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.createServer();
  s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES'));
  s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(false)));
});

/** No port of a unit that is not running yet is taken by another program. */
export async function checkPorts(ports: Array<{ port: number; owner: string }>, running: (name: string) => boolean, configDir: string): Promise<void> {
  for (const p of ports) {
    if (running(p.owner.split(' ')[0] as string)) continue;
    if (await taken(p.port)) {
      throw makeError(E.DOLPHIN_INSTALL_PORT_TAKEN, `port ${p.port} on 127.0.0.1, which ${p.owner} listens on, is taken by another program (see: ss -ltnp 'sport = :${p.port}'): stop it, or set another port in ${configDir}/dolphin.prod.json; nothing was changed`);
    }
  }
}
