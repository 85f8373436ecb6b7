import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, readlinkSync, lstatSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, makeError, MetaHealthFiles, pinnedVersion, type DolphinConfig } from '@dolphin/core';
import { loadSealKey, resolveMemberJar, resolveJava } from '@dolphin/hz';
import { effectiveRegistry, polkitRule, POLKIT_RULE_FILE, SupervisorErrors, systemdUnits, unitOptionsFor } from '@dolphin/supervisor';
import { REPO_ROOT } from '../paths.ts';
import { sourceFingerprint, stageInstall } from '../install/code-copy.ts';
import { Journal } from '../install/journal.ts';
import { manifestPath, readManifest, type InstallManifest } from '../install/manifest.ts';
import { checkHost, checkOptions, checkPorts, checkPrefix, checkUser, passwdEntry, registryPorts, type InstallOptions } from '../install/preflight.ts';
import { must, run, showUnits, systemctl } from '../install/systemctl.ts';

/** Where an install puts what is not under its prefix. */
export const INSTALL_PATHS = {
  configDir: '/etc/dolphin',
  stateDir: '/var/lib/dolphin',
  unitDir: '/etc/systemd/system',
  polkitDir: '/etc/polkit-1/rules.d',
  link: '/usr/local/bin/dolphin',
} as const;

const P = INSTALL_PATHS;
const TOKENS = ['jobs', 'dashboard'] as const;
const say = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment the installed `dolphin` command runs with (scripts read it before the bootstrap). */
function installEnv(prefix: string): string {
  return [
    '# Written by dolphin install: the installed dolphin command runs the installed node on the production configuration.',
    `DOLPHIN_NODE=${path.join(prefix, 'cache/node', pinnedVersion('NODE'), 'bin/node')}`,
    'DOLPHIN_ENV=prod',
    `DOLPHIN_CONFIG_DIR=${P.configDir}`,
    `DOLPHIN_CACHE=${path.join(prefix, 'cache')}`,
    // Root's reads (dolphin health, dolphin jobs) use the key and tokens the units are handed.
    `DOLPHIN__security__keyFile=${path.join(P.configDir, 'dolphin.key')}`,
    `DOLPHIN__jobs__tokenFile=${path.join(P.configDir, 'jobs.token')}`,
    `DOLPHIN__dashboard__tokenFile=${path.join(P.configDir, 'dashboard.token')}`,
    '',
  ].join('\n');
}

/** The configuration the units will run with: /etc/dolphin once installed, else the checkout's. */
function prodConfig(dir: string): Readonly<DolphinConfig> {
  return loadConfig({ env: 'prod', dir, environ: {} });
}

/** Writes `text` to `file` if it differs; records how to put back what was there. */
function writeIfChanged(j: Journal, file: string, text: string, mode: number, what: string, owner?: { uid: number; gid: number }): boolean {
  const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (before === text) return false;
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  if (owner) chownSync(file, owner.uid, owner.gid);
  j.done(`${before === undefined ? 'wrote' : 'updated'} ${file}${what ? ` (${what})` : ''}`, () => {
    if (before === undefined) rmSync(file, { force: true });
    else writeFileSync(file, before);
  });
  return true;
}

function groupId(name: string): number {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return Number(f[2]);
  }
  throw new Error(`group ${name} is not in /etc/group`);
}

/** Units whose ActiveState is active right now, by registry name. */
function activeNames(names: readonly string[]): Set<string> {
  if (run('systemctl', ['--version']).code !== 0) return new Set();
  const shown = showUnits(names.map((n) => `dolphin-${n}.service`), ['ActiveState']);
  return new Set(names.filter((_, i) => shown[i]?.ActiveState === 'active'));
}

/**
 * Waits until every long-running unit is active and every timer waiting; a unit that failed
 * ends the wait at once. Returns undefined when all are, else what is wrong.
 */
async function waitActive(services: string[], timers: string[], timeoutMs: number): Promise<string | undefined> {
  const units = [...services, ...timers];
  const t0 = Date.now();
  for (;;) {
    const shown = showUnits(units, ['Id', 'ActiveState', 'SubState', 'Result']);
    const bad = shown.filter((s) => s.ActiveState === 'failed');
    const pending = shown.filter((s) => s.ActiveState !== 'active');
    if (pending.length === 0) return undefined;
    if (bad.length > 0 || Date.now() - t0 > timeoutMs) {
      const which = bad.length > 0 ? bad : pending;
      return which.map((s) => {
        const journal = run('journalctl', ['-u', s.Id as string, '-n', '8', '--no-pager', '-o', 'cat']).out;
        return `${s.Id}: ${s.ActiveState} (${s.SubState}, result ${s.Result})${journal ? `\n    ${journal.split('\n').join('\n    ')}` : ''}`;
      }).join('\n  ');
    }
    await sleep(250);
  }
}

interface HealthLine {
  status: string;
  line: string;
}

/** meta-health's record on file (the units write it each cycle); fresh ones only. */
function readHealth(stateDir: string): HealthLine | undefined {
  try {
    const h = JSON.parse(readFileSync(path.join(stateDir, MetaHealthFiles.LATEST), 'utf8')) as { timestamp: string; status: string; rm_meta: number; m1_proc: number; m2_heartbeat: number; m3_data_freshness: number; m4_control_plane: number; m5_coherence: number };
    if (Date.now() - Date.parse(h.timestamp) > 15_000) return undefined;
    return { status: h.status, line: `health ${h.status} rm_meta ${h.rm_meta.toFixed(3)} (M1 ${h.m1_proc.toFixed(2)} M2 ${h.m2_heartbeat.toFixed(2)} M3 ${h.m3_data_freshness.toFixed(2)} M4 ${h.m4_control_plane.toFixed(2)} M5 ${h.m5_coherence.toFixed(2)})` };
  } catch {
    return undefined;
  }
}

async function waitGreen(stateDir: string, timeoutMs: number): Promise<HealthLine | undefined> {
  const t0 = Date.now();
  let last: HealthLine | undefined;
  while (Date.now() - t0 < timeoutMs) {
    last = readHealth(stateDir) ?? last;
    if (last?.status === 'GREEN') return last;
    await sleep(500);
  }
  return last;
}

/**
 * `sudo ./dolphin install`: the checkout and its toolchain at the prefix (root's, read-only),
 * the user, /etc/dolphin, the units, the polkit rule and /usr/local/bin/dolphin; then the
 * target enabled and started, and a wait for every unit active and health GREEN. Every step is
 * undone if a later one fails. A re-run with nothing changed changes nothing.
 */
export async function install(o: InstallOptions): Promise<number> {
  const source = REPO_ROOT;
  checkOptions(o, source);
  checkHost();
  const manifest = readManifest(o.prefix);
  checkPrefix(o, manifest);
  const userExisted = checkUser(o, manifest);
  const java = resolveJava();
  const jar = resolveMemberJar();
  const configFrom = existsSync(path.join(P.configDir, 'dolphin.json')) ? P.configDir : path.join(source, 'config');
  let config = prodConfig(configFrom);
  const scansDir = o.scans ?? manifest?.scansDir ?? config.scans.dir;
  const registry = () => effectiveRegistry(config, { ownMember: true });
  const names = Object.keys(registry());
  const active = activeNames(names);
  await checkPorts(registryPorts(registry(), config), (n) => active.has(n), configFrom);
  const fingerprint = sourceFingerprint(source);
  const sameCode = manifest?.fingerprint === fingerprint;

  if (o.dryRun) {
    say(`dolphin install --dry-run: what an install would do on this machine (nothing is changed)`);
    if (!userExisted) say(`  create the system user ${o.user} (home ${P.stateDir}, no login shell)`);
    say(sameCode ? `  keep the code at ${o.prefix} (the same as ${source})` : `  copy ${source} (with node_modules) and the toolchain (node ${process.version}, ${path.basename(jar)}) to ${o.prefix}, owned by root, read-only to ${o.user}`);
    say(`  configuration into ${P.configDir} (dolphin.json, dolphin.prod.json kept if there; a seal key and the jobs and dashboard tokens made if missing, 0600 root)`);
    say(`  state in ${P.stateDir} (StateDirectory=), scans in ${scansDir}`);
    const units = systemdUnits(registry(), config, unitOptionsFor(o.prefix, { user: o.user, java }));
    say(`  units into ${P.unitDir}: ${[...units.keys()].join(', ')}`);
    if (existsSync(path.dirname(P.polkitDir))) say(`  the polkit rule ${path.join(P.polkitDir, POLKIT_RULE_FILE)} (${o.user} may restart dolphin-member.service)`);
    say(`  ${P.link} → ${path.join(o.prefix, 'dolphin')}`);
    say('  systemctl daemon-reload; systemctl enable --now dolphin.target; wait for every unit active and health GREEN');
    return 0;
  }

  say(`dolphin install: into ${o.prefix} as user ${o.user}`);
  const j = new Journal(say);
  const created: string[] = [...(manifest?.created ?? [])];
  try {
    // The user.
    if (!userExisted) {
      must('useradd', ['--system', '--user-group', '--home-dir', P.stateDir, '--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'Dolphin services', o.user]);
      j.done(`created the system user ${o.user}`, () => void must('userdel', [o.user]));
    }
    const pw = passwdEntry(o.user) as NonNullable<ReturnType<typeof passwdEntry>>;
    const gid = groupId(o.user);

    // The code and the toolchain: staged beside the prefix, then swapped in.
    if (!sameCode) {
      const staging = `${o.prefix}.new-${process.pid}`;
      rmSync(staging, { recursive: true, force: true });
      try {
        stageInstall(source, staging, { node: process.execPath, jar });
      } catch (err) {
        rmSync(staging, { recursive: true, force: true });
        throw err;
      }
      const old = existsSync(o.prefix) ? `${o.prefix}.old-${process.pid}` : undefined;
      if (old) renameSync(o.prefix, old);
      renameSync(staging, o.prefix);
      j.done(`${old ? 'replaced' : 'copied'} the code and its toolchain at ${o.prefix} (root's, read-only to ${o.user})`, () => {
        rmSync(o.prefix, { recursive: true, force: true });
        if (old) renameSync(old, o.prefix);
      });
      if (old) rmSync(old, { recursive: true, force: true });
      writeFileSync(path.join(o.prefix, 'dolphin.env'), installEnv(o.prefix));
      chmodSync(path.join(o.prefix, 'dolphin.env'), 0o644); // the service user runs the command too
    }

    // Configuration: the checkout's files the first time; an operator's edits are kept after.
    if (!existsSync(P.configDir)) {
      mkdirSync(P.configDir);
      chmodSync(P.configDir, 0o755); // not the umask's 0750: the service user reads dolphin.json here
      created.push(P.configDir);
      j.done(`made ${P.configDir}`, () => rmSync(P.configDir, { recursive: true, force: true }));
    }
    const cfgOwner = { uid: 0, gid };
    for (const f of ['dolphin.json', 'dolphin.prod.json']) {
      const dest = path.join(P.configDir, f);
      if (!existsSync(dest)) writeIfChanged(j, dest, readFileSync(path.join(source, 'config', f), 'utf8'), 0o640, `readable by ${o.user}`, cfgOwner);
    }
    if (o.scans !== undefined && o.scans !== prodConfig(P.configDir).scans.dir) {
      const file = path.join(P.configDir, 'dolphin.prod.json');
      const data = JSON.parse(readFileSync(file, 'utf8')) as { scans?: Record<string, unknown> };
      data.scans = { ...data.scans, dir: o.scans };
      writeIfChanged(j, file, `${JSON.stringify(data, null, 2)}\n`, 0o640, `scans.dir ${o.scans}`, cfgOwner);
    }
    config = prodConfig(P.configDir);
    const keyFile = path.join(P.configDir, 'dolphin.key');
    if (!existsSync(keyFile)) {
      loadSealKey(keyFile, { create: true });
      j.done(`made the seal key ${keyFile} (0600 root; the units get it through LoadCredential=)`, () => rmSync(keyFile, { force: true }));
    }
    for (const t of TOKENS) {
      const file = path.join(P.configDir, `${t}.token`);
      if (!existsSync(file)) writeIfChanged(j, file, `${randomBytes(24).toString('hex')}\n`, 0o600, 'a new token, 0600 root');
    }

    // State and scans: owned by the service user.
    const scans = config.scans.dir;
    for (const dir of [P.stateDir, scans]) {
      if (existsSync(dir)) continue;
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o750);
      chownSync(dir, pw.uid, gid);
      created.push(dir);
      j.done(`made ${dir} (${o.user}'s)`, () => rmSync(dir, { recursive: true, force: true }));
    }
    const inState = scans === config.stateDir || scans.startsWith(`${config.stateDir}/`);

    // Units, the polkit rule, the command.
    const units = systemdUnits(effectiveRegistry(config, { ownMember: true }), config, unitOptionsFor(o.prefix, { user: o.user, java, writable: inState ? [] : [scans] }));
    let changedUnits = false;
    for (const [name, text] of units) changedUnits = writeIfChanged(j, path.join(P.unitDir, name), text, 0o644, '') || changedUnits;
    for (const stale of readdirSync(P.unitDir).filter((f) => /^dolphin(-[a-z0-9-]+)?\.(service|timer|target)$/.test(f) && !units.has(f))) {
      const file = path.join(P.unitDir, stale);
      const before = readFileSync(file, 'utf8');
      run('systemctl', ['disable', '--now', stale]);
      rmSync(file);
      changedUnits = true;
      j.done(`removed ${file} (no longer in the registry)`, () => writeFileSync(file, before));
    }
    if (existsSync(path.dirname(P.polkitDir))) {
      mkdirSync(P.polkitDir, { recursive: true });
      writeIfChanged(j, path.join(P.polkitDir, POLKIT_RULE_FILE), polkitRule(o.user), 0o644, `${o.user} may restart dolphin-member.service, nothing else`);
    }
    const target = path.join(o.prefix, 'dolphin');
    let linked: string | undefined;
    try {
      linked = lstatSync(P.link).isSymbolicLink() ? readlinkSync(P.link) : 'a file';
    } catch { /* none */ }
    if (linked !== target) {
      if (linked !== undefined && linked !== 'a file') rmSync(P.link);
      if (linked === 'a file') say(`  left ${P.link} alone (a file that is not Dolphin's); run ${target}`);
      else {
        mkdirSync(path.dirname(P.link), { recursive: true });
        symlinkSync(target, P.link);
        j.done(`linked ${P.link} → ${target}`, () => rmSync(P.link, { force: true }));
      }
    }

    // The manifest, before starting: a rollback removes the prefix with it.
    const m: InstallManifest = {
      fingerprint, source, installedAt: manifest && sameCode ? manifest.installedAt : new Date().toISOString(), user: o.user,
      userCreated: !userExisted || (manifest?.userCreated ?? false), scansDir: scans, created: [...new Set(created)],
    };
    if (JSON.stringify({ ...m, installedAt: '' }) !== JSON.stringify({ ...(manifest ?? {}), installedAt: '' })) {
      writeFileSync(manifestPath(o.prefix), `${JSON.stringify(m, null, 2)}\n`);
      chmodSync(manifestPath(o.prefix), 0o644);
    }

    // Start: only what changed is restarted; nothing changed, nothing restarts.
    const serviceUnits = [...units.keys()].filter((u) => u.endsWith('.service') && !units.has(u.replace(/\.service$/, '.timer')));
    const timerUnits = [...units.keys()].filter((u) => u.endsWith('.timer'));
    if (changedUnits) {
      must('systemctl', ['daemon-reload']);
      j.done('systemctl daemon-reload', () => void run('systemctl', ['daemon-reload']));
    }
    const wasEnabled = systemctl('is-enabled', '--quiet', 'dolphin.target').code === 0;
    const wasActive = systemctl('is-active', '--quiet', 'dolphin.target').code === 0;
    if (!wasEnabled) {
      must('systemctl', ['enable', 'dolphin.target', ...serviceUnits, ...timerUnits]);
      j.done('enabled dolphin.target (started at boot)', () => void run('systemctl', ['disable', 'dolphin.target', ...serviceUnits, ...timerUnits]));
    }
    if (!sameCode || changedUnits || !wasActive) {
      // A unit already running old code or an old unit file restarts; the rest just start.
      must('systemctl', [wasActive ? 'restart' : 'start', '--no-block', ...(wasActive ? [...serviceUnits, ...timerUnits] : ['dolphin.target'])]);
      j.done(`${wasActive ? 'restarted' : 'started'} dolphin.target`, () => void run('systemctl', ['stop', 'dolphin.target', ...serviceUnits, ...timerUnits]));
    }
    const t0 = Date.now();
    const problem = await waitActive(serviceUnits, timerUnits, o.waitS * 1000);
    if (problem) throw makeError(SupervisorErrors.DOLPHIN_INSTALL_NOT_STARTED, `not every unit became active within ${o.waitS} s:\n  ${problem}`);
    const allActiveMs = Date.now() - t0;
    const health = await waitGreen(config.stateDir, o.waitS * 1000);

    if (j.count === 0) say('  nothing to change: this install is already what the checkout and /etc/dolphin say');
    say(`dolphin: ${serviceUnits.length} units active${j.count > 0 ? ` (${allActiveMs} ms after the start)` : ''}, ${timerUnits.length} timer${timerUnits.length === 1 ? '' : 's'} waiting; ${health ? health.line : 'health: no fresh record from meta-health yet'}`);
    say([
      'How to look:',
      '  systemctl list-units \'dolphin-*\'        the units (systemctl status dolphin-event-trader for one)',
      '  journalctl -u dolphin-event-trader -f    a service\'s log (JSON lines); or: dolphin logs event-trader -f',
      '  dolphin status                           every unit: state, pid, uptime, restarts, memory against MemoryMax',
      '  dolphin health                           rm_meta and the five sensors',
      '  systemctl list-timers \'dolphin-*\'        the daily batch; dolphin jobs for its results',
      `Configuration: ${P.configDir} (edit, then run install again to apply); state: ${config.stateDir}; scans: ${scans}`,
      `Remove: sudo dolphin uninstall [--keep-state]`,
    ].join('\n'));
    if (health?.status !== 'GREEN') {
      say(`dolphin: health is not GREEN after ${o.waitS} s${health ? ` (${health.line})` : ''}: the units run; see dolphin health for why`);
      return 1;
    }
    return 0;
  } catch (err) {
    console.error(`dolphin install failed: ${(err as Error).message}`);
    if (j.count > 0) {
      console.error('dolphin: undoing what this install did:');
      const problems = await j.rollback();
      console.error(problems.length === 0 ? 'dolphin: rolled back; the machine is as it was' : `dolphin: rolled back, except: ${problems.join('; ')}`);
    } else console.error('dolphin: nothing was changed');
    return 1;
  }
}

/**
 * `sudo dolphin uninstall [--keep-state]`: stops and removes the units, the polkit rule, the
 * command and the prefix; with --keep-state the configuration, the state and the user stay
 * (a later install picks them up).
 */
export async function uninstall(o: { prefix: string; keepState: boolean }): Promise<number> {
  checkHost();
  const manifest = readManifest(o.prefix);
  if (!manifest) {
    console.error(`dolphin: no install at ${o.prefix} (no ${manifestPath(o.prefix)}): nothing to remove`);
    return 2;
  }
  say(`dolphin uninstall: ${o.prefix}${o.keepState ? ' (keeping configuration, state and the user)' : ''}`);
  const units = readdirSync(P.unitDir).filter((f) => /^dolphin(-[a-z0-9-]+)?\.(service|timer|target)$/.test(f));
  if (units.length > 0) {
    run('systemctl', ['disable', '--now', ...units]);
    say(`  stopped and disabled ${units.join(', ')}`);
    for (const u of units) rmSync(path.join(P.unitDir, u), { force: true });
    say(`  removed their unit files from ${P.unitDir}`);
  }
  must('systemctl', ['daemon-reload']);
  run('systemctl', ['reset-failed', 'dolphin-*']);
  const rule = path.join(P.polkitDir, POLKIT_RULE_FILE);
  if (existsSync(rule)) {
    rmSync(rule);
    say(`  removed ${rule}`);
  }
  try {
    if (lstatSync(P.link).isSymbolicLink() && readlinkSync(P.link) === path.join(o.prefix, 'dolphin')) {
      rmSync(P.link);
      say(`  removed ${P.link}`);
    }
  } catch { /* none */ }
  rmSync(o.prefix, { recursive: true, force: true });
  say(`  removed ${o.prefix}`);
  if (!o.keepState) {
    for (const dir of new Set([...manifest.created, P.configDir, P.stateDir])) {
      if (!existsSync(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
      say(`  removed ${dir}`);
    }
    if (manifest.userCreated && passwdEntry(manifest.user)) {
      must('userdel', [manifest.user]);
      say(`  removed the user ${manifest.user}`);
    }
  }
  say('dolphin: uninstalled');
  return 0;
}
