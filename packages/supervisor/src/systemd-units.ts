import path from 'node:path';
import type { DolphinConfig, ServiceEntry, ServiceRegistry } from '@dolphin/core';
import { memberJvmArgs, pinnedHazelcastVersion } from '@dolphin/hz';
import { SERVICE_ENV } from '@dolphin/service-kit';
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
}

export const DEFAULT_UNIT_OPTIONS: UnitOptions = { prefix: '/opt/dolphin', user: 'dolphin', cache: '/opt/dolphin/cache', java: '/usr/bin/java', configDir: '/etc/dolphin' };

const WHAT: Record<string, string> = {
  member: 'the Hazelcast member (cluster bus)',
  indicators: 'indicator publishers (funding, DVOL, fear & greed, order books, calendar)',
  safety: 'safety posture and size scale',
  'scan-bridge': 'scan files into DOLPHIN_FEATURES',
  'event-trader': 'the event trader',
  'meta-health': 'meta-health: the five sensors, rm_meta, recovery',
  'jobs-api': 'backtests as background jobs (HTTP on loopback, SQLite)',
  dashboard: 'the read-only web view (HTTP on loopback, Server-Sent Events)',
};

const unitName = (name: string) => `dolphin-${name}.service`;
/** The services that serve people and need a token (required in production). */
const TOKEN_OF = new Set(['jobs-api', 'dashboard']);
const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}` : `${ms}ms`);
/** systemd quotes: one word, or double quotes with \ and " escaped. */
const word = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);

/**
 * The sandbox every unit gets (systemd.exec(5)): nothing writable but the state folder,
 * no privileges to gain, no devices, no kernel knobs, only loopback networking, and a system
 * call filter. What Node's and the JVM's JITs need (writable and executable memory) stays.
 */
function hardening(e: ServiceEntry, name: string): string[] {
  const lines = [
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'StateDirectory=dolphin',
    'StateDirectoryMode=0750',
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
  if (name === 'meta-health') lines.unshift('# Restarts go through systemctl (D-Bus over AF_UNIX); see deploy/systemd/README.md for the polkit rule.');
  return lines;
}

function execStart(name: string, e: ServiceEntry, config: Readonly<DolphinConfig>, o: UnitOptions): string {
  if (e.kind === 'member') {
    const version = pinnedHazelcastVersion();
    const port = config.member.port;
    const args = memberJvmArgs({
      port, clusterName: config.hazelcast.clusterName, heapMb: config.member.heapMb,
      jar: path.join(o.cache, 'hazelcast', version, `hazelcast-${version}.jar`),
      configFile: path.join(o.prefix, 'deploy/hazelcast/hazelcast.xml'),
      members: config.hazelcast.members, extra: config.member.jvmArgs,
    });
    return [o.java, ...args].map(word).join(' ');
  }
  if (e.kind === 'service') return [path.join(o.prefix, 'dolphin'), 'service', name, ...e.args].map(word).join(' ');
  return [...(e.command ?? []), ...e.args].map(word).join(' ');
}

function serviceUnit(name: string, e: ServiceEntry, config: Readonly<DolphinConfig>, o: UnitOptions): string {
  const deps = e.dependsOn.map(unitName);
  const env: Record<string, string> = {
    DOLPHIN_ENV: config.env, DOLPHIN_CACHE: o.cache, HOME: '/var/lib/dolphin', ...SERVICE_ENV, ...e.env,
    ...(e.kind === 'service' && e.metricsPort > 0 ? { DOLPHIN__metrics__port: String(e.metricsPort) } : {}),
  };
  const notify = e.kind === 'service';
  const restart = e.restart.mode === 'never' ? 'no' : e.restart.mode;
  const lines = [
    '# Generated by `dolphin systemd generate` from the service registry; do not edit by hand.',
    '[Unit]',
    `Description=Dolphin ${name}: ${WHAT[name] ?? name}`,
    `Documentation=file://${path.join(o.prefix, 'docs/operations.md')}`,
    'PartOf=dolphin.target',
    `After=network.target${deps.length ? ` ${deps.join(' ')}` : ''}`,
    ...(deps.length ? [`Wants=${deps.join(' ')}`] : []),
    // More than Burst starts within the interval: the unit fails and stays failed (no storm).
    `StartLimitIntervalSec=${seconds(e.startLimit.intervalMs)}`,
    `StartLimitBurst=${e.startLimit.burst}`,
    '',
    '[Service]',
    `Type=${notify ? 'notify' : 'exec'}`,
    ...(notify ? ['NotifyAccess=all'] : []),
    ...(name === 'meta-health' ? ['WatchdogSec=10'] : []),
    `User=${o.user}`,
    `Group=${o.user}`,
    `WorkingDirectory=${o.prefix}`,
    ...Object.entries(env).map(([k, v]) => `Environment=${word(`${k}=${v}`)}`),
    // Tokens come from files, handed over by systemd ($CREDENTIALS_DIRECTORY), never the environment.
    ...(TOKEN_OF.has(name) ? [`LoadCredential=${name}.token:${path.join(o.configDir, `${name}.token`)}`] : []),
    `ExecStart=${execStart(name, e, config, o)}`,
    `Restart=${restart}`,
    `RestartSec=${seconds(Math.max(100, e.restart.initialMs))}`,
    // A configuration error (exit 78) is not cured by restarting.
    'RestartPreventExitStatus=78',
    `TimeoutStopSec=${seconds(e.stopTimeoutMs)}`,
    'KillMode=control-group',
    `MemoryMax=${e.limits.memoryMaxMb}M`,
    `TasksMax=${e.limits.tasksMax}`,
    `CPUQuota=${e.limits.cpuQuotaPct}%`,
    ...hardening(e, name),
    '',
    '[Install]',
    'WantedBy=dolphin.target',
    '',
  ];
  return lines.join('\n');
}

/**
 * One unit per registry entry (dolphin-<name>.service) and dolphin.target pulling them all in,
 * from the registry of `config` (the prod environment for the committed files).
 */
export function systemdUnits(registry: ServiceRegistry, config: Readonly<DolphinConfig>, options: UnitOptions = DEFAULT_UNIT_OPTIONS): Map<string, string> {
  const out = new Map<string, string>();
  const entries = startOrder(registry);
  for (const e of entries) out.set(unitName(e.name), serviceUnit(e.name, e, config, options));
  const all = entries.map((e) => unitName(e.name)).join(' ');
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
