import { existsSync } from 'node:fs';
import { loadConfig } from '@dolphin/core';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@dolphin/service-kit';
import { mainOf } from '@dolphin/supervisor';

/**
 * `dolphin service <name> [args…]`: becomes the service of the registry (exec, same pid), with
 * the service flags and environment — what a systemd unit's ExecStart runs.
 */
export function service(name: string, args: string[]): number {
  const config = loadConfig();
  const entry = config.services[name];
  if (!entry || entry.kind !== 'service') {
    const names = Object.entries(config.services).filter(([, e]) => e.kind === 'service').map(([n]) => n);
    console.error(`dolphin: no service "${name}" in the registry; there are: ${names.join(', ')}`);
    return 2;
  }
  const main = mainOf(name, entry);
  if (!existsSync(main)) {
    console.error(`dolphin: ${name}: ${main} does not exist`);
    return 2;
  }
  const env = { ...process.env, ...SERVICE_ENV, ...entry.env };
  if (!process.execve) {
    console.error('dolphin: this Node has no process.execve (Node 24 does)');
    return 1;
  }
  process.execve(process.execPath, [process.execPath, ...SERVICE_NODE_FLAGS, main, ...entry.args, ...args], env);
  return 0; // not reached: execve replaces this process
}
