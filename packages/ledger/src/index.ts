export { Ledger, ledgerError, type FillRow, type DayTotals, type InputRow, type SafetyInput, type GapRow } from './ledger.ts';
export { LedgerErrors } from './errors.ts';
