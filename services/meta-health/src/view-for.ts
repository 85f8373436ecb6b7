import path from 'node:path';
import type { DolphinConfig, Logger, ServiceRegistry } from '@dolphin/core';
import { HeartbeatOnlyView, SupervisorView, SystemdView, type ProcessView } from './process-view.ts';

/**
 * Where recovery acts (metaHealth.recoveryVia): systemd when it runs meta-health (auto, by
 * INVOCATION_ID) or when asked; the supervisor of `dolphin up` (its run file, passed down as
 * DOLPHIN_SUPERVISOR_RUN_FILE); else heartbeats only, and no restarts.
 */
export function viewFor(config: Readonly<DolphinConfig>, registry: ServiceRegistry, logger: Logger, env: NodeJS.ProcessEnv = process.env): ProcessView {
  const via = config.metaHealth.recoveryVia;
  const runFile = env.DOLPHIN_SUPERVISOR_RUN_FILE ?? path.join(process.cwd(), '.dolphin/run/supervisor.json');
  if (via === 'systemctl' || (via === 'auto' && env.INVOCATION_ID)) return new SystemdView(registry);
  if (via === 'supervisor' || (via === 'auto' && env.DOLPHIN_SUPERVISOR_RUN_FILE)) return new SupervisorView(runFile);
  return new HeartbeatOnlyView(registry, logger);
}

/** Where this host's member answers its readiness check. */
export function memberHealthUrl(member: { address: string; port: number }): string {
  return `http://${member.address}:${member.port}/hazelcast/health/ready`;
}
