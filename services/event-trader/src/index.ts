export { EventTrader, type TraderOptions, type DecisionStamps } from './trader.ts';
export { Ledger, type FillRow, type DayTotals, type InputRow, type SafetyInput } from './ledger.ts';
export { createTraderMetrics, type TraderMetrics } from './metrics.ts';
export { attachTraderListeners, missedScans, SCAN_HISTORY } from './listeners.ts';
