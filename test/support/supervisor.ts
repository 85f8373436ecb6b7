import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dolphinConfigSchema, serviceRegistrySchema, type DolphinConfig, type ValueSeal } from '@dolphin/core';
import { serveControl, Supervisor, writeRunFile } from '@dolphin/supervisor';
import { testLogger } from './logger.ts';
import { testSeal } from './member.ts';

export interface TestSupervisor {
  supervisor: Supervisor;
  /** The run file the children find the control endpoint by (DOLPHIN_SUPERVISOR_RUN_FILE). */
  runFile: string;
  logDir: string;
  stateDir: string;
  /** The seal of the services' key (<stateDir>/dolphin.key): a test's client with it writes what they believe. */
  seal: ValueSeal;
  stop(): Promise<void>;
}

/**
 * A real supervisor in the test process for `registry` (entries as in config, defaults filled
 * in), its control endpoint on a free loopback port and its run file, in temporary folders.
 * `env` reaches every child; `config` is merged over defaults (supervisor sampling, member port …).
 */
export async function startTestSupervisor(registry: Record<string, unknown>, options: { env?: NodeJS.ProcessEnv; config?: Record<string, unknown>; heartbeatOf?: (name: string) => Promise<{ pid: number; state: string } | undefined> } = {}): Promise<TestSupervisor> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dolphin-sup-'));
  const logDir = path.join(root, 'logs');
  const stateDir = path.join(root, 'state');
  const runFile = path.join(root, 'run', 'supervisor.json');
  const { seal } = testSeal(stateDir);
  const config: Readonly<DolphinConfig> = dolphinConfigSchema.parse({ stateDir, supervisor: { sampleMs: 200 }, ...options.config });
  const supervisor = new Supervisor({
    registry: serviceRegistrySchema.parse(registry), config, logDir, logger: testLogger('supervisor'),
    ...(options.heartbeatOf ? { heartbeatOf: options.heartbeatOf } : {}),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_STATE_DIR: stateDir, DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(root, 'cfg-')), DOLPHIN_LOG_LEVEL: 'info', DOLPHIN_SUPERVISOR_RUN_FILE: runFile, ...options.env },
  });
  const control = await serveControl(supervisor, { port: 0, logger: testLogger('control'), onShutdown: () => void supervisor.stopAll() });
  writeRunFile(runFile, { pid: process.pid, port: control.port, token: control.token, startedAt: new Date().toISOString(), logDir });
  return {
    supervisor, runFile, logDir, stateDir, seal,
    async stop() {
      await supervisor.stopAll();
      await control.close();
    },
  };
}
