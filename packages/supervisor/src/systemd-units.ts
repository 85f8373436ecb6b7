import path from 'node:path';
import { pinnedVersion, type DolphinConfig, type ServiceEntry, type ServiceRegistry } from '@dolphin/core';
import { memberJvmArgs, pinnedHazelcastVersion } from '@dolphin/hz';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { startOrder } from './registry.ts';

export interface UnitOptions {
  /** Where the checkout is installed, read-only (ExecStart, WorkingDirectory). */
  prefix: string;
  /** The dedicated, unprivileged user (and group) every unit runs as. */
  user: string;
  /** Dolphin's cache of Node and the member jar under the prefix (DOLPHIN_CACHE). */
  cache: string;
  /** java for the member. */
  java: string;
  /** Where the install keeps configuration and the token files systemd hands to the services (ConfigurationDirectory). */
  configDir: string;
  /** The pinned node the services run on, installed under the prefix (no bootstrap at start). */
  node: string;
  /** Folders outside the state folder the services may write (a scans folder given to install). */
  writable: readonly string[];
}

/** The options of an install at `prefix`: its cache holds the pinned node (scripts/versions.env) and member jar. */
export function unitOptionsFor(prefix: string, o: Partial<Omit<UnitOptions, 'prefix'>> = {}): UnitOptions {
  const cache = o.cache ?? path.join(prefix, 'cache');
  return {
    prefix, user: 'dolphin', java: '/usr/bin/java', configDir: '/etc/dolphin', writable: [],
    node: path.join(cache, 'node', pinnedVersion('NODE'), 'bin/node'), ...o, cache,
  };
}

export const DEFAULT_UNIT_OPTIONS: UnitOptions = unitOptionsFor('/opt/dolphin');

/**
 * systemd kills a Node service that has not petted its watchdog for this long (the service kit
 * pets it from the heartbeat tick, every second): a frozen event loop is restarted by systemd
 * itself, 10 s after it froze, without meta-health or any privilege.
 */
export const WATCHDOG_SEC = 10;

const WHAT: Record<string, string> = {
  member: 'the Hazelcast member (cluster bus)',
  indicators: 'indicator publishers (funding, DVOL, fear & greed, order books, calendar)',
  safety: 'safety posture and size scale',
  'scan-bridge': 'scan files into DOLPHIN_FEATURES',
  'event-trader': 'the event trader',
  'meta-health': 'meta-health: the five sensors, rm_meta, recovery',
  'jobs-api': 'backtests as background jobs (HTTP on loopback, SQLite)',
  dashboard: 'the read-only web view (HTTP on loopback, Server-Sent Events)',
  daily: "the daily batch: yesterday's backtest and the paper-trading day report",
};

const unitName = (name: string) => `dolphin-${name}.service`;
const timerName = (name: string) => `dolphin-${name}.timer`;
/** The tokens (in the config folder) each unit is handed: its own, or the jobs API's for the daily batch. */
const TOKENS_OF: Record<string, string[]> = { 'jobs-api': ['jobs'], dashboard: ['dashboard'], daily: ['jobs'] };
const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}` : `${ms}ms`);
/** systemd quotes: one word, or double quotes with \ and " escaped. */
const word = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);

/**
 * The sandbox every unit gets (systemd.exec(5)): nothing writable but the state folder,
 * no privileges to gain, no devices, no kernel knobs, only loopback networking, and a system
 * call filter. What Node's and the JVM's JITs need (writable and executable memory) stays.
 */
function hardening(e: ServiceEntry, name: string, o: UnitOptions): string[] {
  const lines = [
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'StateDirectory=dolphin',
    'StateDirectoryMode=0750',
    // Read-only to the services: dolphin.json and dolphin.prod.json readable, the key and tokens root's (LoadCredential=).
    ...(path.dirname(o.configDir) === '/etc' ? [`ConfigurationDirectory=${path.basename(o.configDir)}`, 'ConfigurationDirectoryMode=0755'] : []),
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'PrivateUsers=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'ProcSubset=pid',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'KeyringMode=private',
    'DevicePolicy=closed',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged',
    'SystemCallErrorNumber=EPERM',
    'UMask=0027',
    // Everything talks to the member on loopback; a cluster across machines adds its hosts here.
    'IPAddressDeny=any',
    'IPAddressAllow=localhost',
  ];
  if (e.kind === 'service' || e.kind === 'member') lines.push('# The JIT writes code it then runs.', 'MemoryDenyWriteExecute=no');
  if (name === 'meta-health') lines.unshift('# Restarts of the member go through systemctl (D-Bus over AF_UNIX); see docs/operations.md for the polkit rule.');
  for (const dir of o.writable) lines.push(`ReadWritePaths=${word(dir)}`);
  return lines;
}

function execStart(name: string, e: ServiceEntry, config: Readonly<DolphinConfig>, o: UnitOptions): string {
  if (e.kind === 'member') {
    const version = pinnedHazelcastVersion();
    const port = config.member.port;
    const args = memberJvmArgs({
      port, address: config.member.address, clusterName: config.hazelcast.clusterName, heapMb: config.member.heapMb,
      jar: path.join(o.cache, 'hazelcast', version, `hazelcast-${version}.jar`),
      configFile: path.join(o.prefix, 'deploy/hazelcast/hazelcast.xml'),
      members: config.hazelcast.members, extra: config.member.jvmArgs,
    });
    return [o.java, ...args].map(word).join(' ');
  }
  // The pinned node on the service's main, as `dolphin service` would exec it, without the
  // bootstrap: nothing to install or write at start, and no second process image to load.
  if (e.kind === 'service') return [o.node, ...SERVICE_NODE_FLAGS, path.join(o.prefix, e.main ?? `services/${name}/src/main.ts`), ...e.args].map(word).join(' ');
  return [...(e.command ?? []), ...e.args].map(word).join(' ');
}

function serviceUnit(name: string, e: ServiceEntry, config: Readonly<DolphinConfig>, o: UnitOptions): string {
  const deps = e.dependsOn.map(unitName);
  const env: Record<string, string> = {
    DOLPHIN_ENV: config.env, DOLPHIN_CONFIG_DIR: o.configDir, DOLPHIN_CACHE: o.cache, HOME: '/var/lib/dolphin', ...SERVICE_ENV, ...e.env,
    ...(e.kind === 'service' && e.metricsPort > 0 ? { DOLPHIN__metrics__port: String(e.metricsPort) } : {}),
    // Node's compiled code (and stripped TypeScript) kept across starts, in the state folder (the
    // prefix is read-only): a restart compiles nothing it compiled before (bench/systemd-recovery.ts).
    ...(e.kind === 'service' ? { NODE_COMPILE_CACHE: '/var/lib/dolphin/node-compile-cache' } : {}),
  };
  const scheduled = e.schedule !== undefined;
  const notify = e.kind === 'service' && !scheduled;
  const restart = e.restart.mode === 'never' ? 'no' : e.restart.mode;
  const tokens = TOKENS_OF[name] ?? [];
  const lines = [
    '# Generated by `dolphin systemd generate` from the service registry; do not edit by hand.',
    '[Unit]',
    `Description=Dolphin ${name}: ${WHAT[name] ?? name}`,
    `Documentation=file://${path.join(o.prefix, 'docs/operations.md')}`,
    'PartOf=dolphin.target',
    `After=network.target${deps.length ? ` ${deps.join(' ')}` : ''}`,
    ...(deps.length ? [`Wants=${deps.join(' ')}`] : []),
    // More than Burst starts within the interval: the unit fails and stays failed (no storm).
    ...(scheduled ? [] : [`StartLimitIntervalSec=${seconds(e.startLimit.intervalMs)}`, `StartLimitBurst=${e.startLimit.burst}`]),
    '',
    '[Service]',
    `Type=${scheduled ? 'oneshot' : notify ? 'notify' : 'exec'}`,
    ...(notify ? [
      'NotifyAccess=all',
      `WatchdogSec=${WATCHDOG_SEC}`,
      // A frozen process may not take SIGABRT (a SIGSTOPped one does not): kill it outright.
      'WatchdogSignal=SIGKILL',
    ] : []),
    `User=${o.user}`,
    `Group=${o.user}`,
    `WorkingDirectory=${o.prefix}`,
    ...Object.entries(env).map(([k, v]) => `Environment=${word(`${k}=${v}`)}`),
    // The seal key and the tokens come from files, handed over by systemd ($CREDENTIALS_DIRECTORY), never the environment.
    ...(e.kind === 'service' ? [`LoadCredential=dolphin.key:${path.join(o.configDir, 'dolphin.key')}`] : []),
    ...tokens.map((t) => `LoadCredential=${t}.token:${path.join(o.configDir, `${t}.token`)}`),
    `ExecStart=${execStart(name, e, config, o)}`,
    // One log line per JSON record in the journal, under the service's name.
    `SyslogIdentifier=dolphin-${name}`,
    ...(scheduled ? [
      // A backtest of a day takes minutes; a day that needs longer has gone wrong.
      'TimeoutStartSec=1h',
    ] : [
      `Restart=${restart}`,
      `RestartSec=${seconds(Math.max(100, e.restart.initialMs))}`,
      // A configuration error (exit 78) is not cured by restarting.
      'RestartPreventExitStatus=78',
    ]),
    // The JVM exits 143 after a SIGTERM it handled (its shutdown hook ran): a clean stop.
    ...(e.kind === 'member' ? ['SuccessExitStatus=143'] : []),
    `TimeoutStopSec=${seconds(e.stopTimeoutMs)}`,
    'KillMode=control-group',
    `MemoryMax=${e.limits.memoryMaxMb}M`,
    `TasksMax=${e.limits.tasksMax}`,
    `CPUQuota=${e.limits.cpuQuotaPct}%`,
    ...hardening(e, name, o),
    // A scheduled unit is started by its timer, not by the target.
    ...(scheduled ? [] : ['', '[Install]', 'WantedBy=dolphin.target']),
    '',
  ];
  return lines.join('\n');
}

/** The timer of a scheduled entry: its calendar in UTC, caught up after downtime, spread out. */
function timerUnit(name: string, e: ServiceEntry, o: UnitOptions): string {
  const s = e.schedule as NonNullable<ServiceEntry['schedule']>;
  return [
    '# Generated by `dolphin systemd generate` from the service registry; do not edit by hand.',
    '[Unit]',
    `Description=Dolphin ${name} on its schedule (${s.calendar})`,
    `Documentation=file://${path.join(o.prefix, 'docs/operations.md')}`,
    'PartOf=dolphin.target',
    '',
    '[Timer]',
    `OnCalendar=${s.calendar}`,
    `Persistent=${s.persistent ? 'true' : 'false'}`,
    `RandomizedDelaySec=${s.randomizedDelaySec}`,
    // The default (a minute) would move the start by up to a minute on top of the delay.
    'AccuracySec=1s',
    `Unit=${unitName(name)}`,
    '',
    '[Install]',
    'WantedBy=dolphin.target',
    '',
  ].join('\n');
}

/**
 * One unit per registry entry (dolphin-<name>.service; a scheduled one also dolphin-<name>.timer)
 * and dolphin.target pulling them all in,
 * from the registry of `config` (the prod environment for the committed files).
 */
export function systemdUnits(registry: ServiceRegistry, config: Readonly<DolphinConfig>, options: UnitOptions = DEFAULT_UNIT_OPTIONS): Map<string, string> {
  const out = new Map<string, string>();
  const entries = startOrder(registry);
  for (const e of entries) {
    out.set(unitName(e.name), serviceUnit(e.name, e, config, options));
    if (e.schedule) out.set(timerName(e.name), timerUnit(e.name, e, options));
  }
  // The target pulls in what runs all the time, and the timers of what runs on a schedule.
  const all = entries.map((e) => (e.schedule ? timerName(e.name) : unitName(e.name))).join(' ');
  out.set('dolphin.target', [
    '# Generated by `dolphin systemd generate` from the service registry; do not edit by hand.',
    '[Unit]',
    'Description=Dolphin: every process of the service registry',
    `Documentation=file://${path.join(options.prefix, 'docs/operations.md')}`,
    `Wants=${all}`,
    `After=${all}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n'));
  return out;
}

/**
 * The polkit rule for the member's restart by meta-health (as `user`), and nothing else: every
 * Node service is restarted by systemd itself (Restart=always; WatchdogSec= kills a frozen one),
 * and a JVM that runs but does not answer cannot pet a watchdog.
 */
export function polkitRule(user: string): string {
  return [
    '// Generated by `dolphin systemd generate`; `dolphin install` puts it into /etc/polkit-1/rules.d/.',
    `// meta-health (user ${user}) may restart the Hazelcast member's unit (try-restart: never start a stopped one), nothing else:`,
    '// systemd restarts every Node service itself (Restart=always, WatchdogSec= for a frozen one), but a',
    '// JVM that runs and does not answer cannot pet a watchdog (docs/operations.md, "Recovery under systemd").',
    'polkit.addRule(function (action, subject) {',
    `  if (action.id !== "org.freedesktop.systemd1.manage-units" || subject.user !== ${JSON.stringify(user)}) return polkit.Result.NOT_HANDLED;`,
    '  var verb = action.lookup("verb");',
    '  if (action.lookup("unit") === "dolphin-member.service" && (verb === "try-restart" || verb === "restart")) return polkit.Result.YES;',
    '  return polkit.Result.NOT_HANDLED;',
    '});',
    '',
  ].join('\n');
}

export const POLKIT_RULE_FILE = '50-dolphin-recovery.rules';
