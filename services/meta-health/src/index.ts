export { score, blend, heartbeatScore, freshness, statusOf, worse, type Observation, type ProcessObservation, type SourceObservation, type Sensors } from './sensors.ts';
export { RecoveryPlanner, recoveryMemorySchema, type RecoveryAction, type RecoveryMemory } from './recovery.ts';
export { MetaHealthDaemon, META_HEALTH_HISTORY, META_HEALTH_FILE, RESET_FILE, type HealthRecord } from './daemon.ts';
export { Observer, DATA_SOURCES, judgeValue } from './observe.ts';
export { SupervisorView, SystemdView, HeartbeatOnlyView, type ProcessView, type ProcessInfo } from './process-view.ts';
