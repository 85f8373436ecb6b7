export { runService, SERVICE_NODE_FLAGS, SERVICE_ENV, EXIT_OK, EXIT_FAILURE, EXIT_CONFIG, type ServiceContext, type ServiceDefinition, type ServiceRunOptions, type RunningService } from './run-service.ts';
export { Lifecycle } from './lifecycle.ts';
export { ComponentStack, type CloseFn, type ComponentOptions, type CloseReport } from './components.ts';
export { StateRegistry, writeSnapshot, takeSnapshot, snapshotPath, SNAPSHOT_MARKER, type StateHandler } from './state.ts';
export { createRegistry, serveMetrics } from './metrics-server.ts';
export { KitErrors } from './errors.ts';
export { every } from './every.ts';
export { JsonStateFile } from './json-file.ts';
export { sdNotify, Watchdog } from './sd-notify.ts';

/** dev mode's warm spare process (see preload.ts). */
export const PRELOAD_SCRIPT = new URL('./preload.ts', import.meta.url).pathname;
export { applyUmask, secureDir, DOLPHIN_UMASK } from './file-modes.ts';
