export { ScanBridge, type BridgeOptions } from './bridge.ts';
export { judge, laterPosition, positionSchema, type Position, type Verdict } from './scan-order.ts';
export { HISTORY_RINGBUFFER, HistoryAppender, reconcileHistory } from './history.ts';
export { createBridgeMetrics, type BridgeMetrics } from './metrics.ts';
export { quarantineFile, type QuarantineRecord } from './quarantine.ts';
