export { ScanBridge, type BridgeOptions } from './bridge.ts';
export { follows, judge, laterPosition, positionSchema, type Position, type Verdict } from './scan-order.ts';
export { PositionStore } from './position-store.ts';
export { HISTORY_RINGBUFFER, HistoryAppender } from './history.ts';
export { createBridgeMetrics, type BridgeMetrics } from './metrics.ts';
export { quarantineFile, type QuarantineRecord } from './quarantine.ts';
