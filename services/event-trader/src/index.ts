export { EventTrader, type TraderOptions, type DecisionStamps } from './trader.ts';
export { GapFiller, type GapFillerOptions, type MissedScan, type ScanSource } from './gap-filler.ts';
export { createTraderMetrics, type TraderMetrics } from './metrics.ts';
export { attachTraderListeners } from './listeners.ts';
