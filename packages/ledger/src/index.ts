export { Ledger, ledgerError, type FillRow, type DayTotals, type InputRow, type SafetyInput, type GapRow } from './ledger.ts';
export { dayReport, readLedgerDay, liveLedgerFile, LIVE_LEDGER_FILE, type DayReport, type DayFill, type PostureChange, type LedgerDay } from './day-report.ts';
export { LedgerErrors } from './errors.ts';
export { clusterEntries, clusterLedgerEntrySchema, scanOfKey, CLUSTER_STATE_KEY, type ClusterLedgerEntry, type ClusterStateEntry, type CommitRecord } from './cluster-records.ts';
