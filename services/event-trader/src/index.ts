export { EventTrader, type TraderOptions, type DecisionStamps } from './trader.ts';
export { Ledger, ledgerError, type FillRow, type DayTotals, type InputRow, type SafetyInput, type GapRow } from './ledger.ts';
export { GapFiller, type GapFillerOptions, type MissedScan, type ScanSource } from './gap-filler.ts';
export { TraderErrors } from './errors.ts';
export { createTraderMetrics, type TraderMetrics } from './metrics.ts';
export { attachTraderListeners } from './listeners.ts';
