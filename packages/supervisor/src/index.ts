export { Supervisor, type SupervisorOptions, type SupervisorStatus } from './supervisor.ts';
export { SupervisedProcess, type ProcessState, type ProcessStatus, type Usage, type LaunchSpec } from './supervised-process.ts';
export { RestartTracker, EXIT_CONFIG, type RestartVerdict, type ExitInfo } from './restart-policy.ts';
export { startOrder, effectiveRegistry, entry, mainOf, type NamedEntry } from './registry.ts';
export { RotatingLog } from './rotating-log.ts';
export { parseStat, readAllStats, groupUsage, groupAlive, type ProcStat, type GroupUsage } from './proc-stats.ts';
export { serveControl, ControlClient, writeRunFile, readRunFile, removeRunFile, runFileSchema, type RunFile } from './control.ts';
export { systemdUnits, DEFAULT_UNIT_OPTIONS, type UnitOptions } from './systemd-units.ts';
export { SupervisorErrors } from './errors.ts';
