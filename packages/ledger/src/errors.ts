import { defineErrors } from '@dolphin/core';

export const LedgerErrors = defineErrors({
  DOLPHIN_TRADER_LEDGER_FULL: { retryable: true, summary: 'The ledger cannot be written: the disk under the state folder is full (ENOSPC). The trader halts (DEGRADED) and, once space returns, decides every scan missed meanwhile.' },
  DOLPHIN_TRADER_LEDGER_READONLY: { retryable: true, summary: 'The ledger cannot be written: its file or file system is read-only. The trader halts (DEGRADED) and catches up once it is writable.' },
  DOLPHIN_TRADER_LEDGER_IO: { retryable: true, summary: 'The ledger cannot be written: an I/O error from SQLite. The trader halts (DEGRADED) and retries.' },
  DOLPHIN_TRADER_LEDGER_MISSING: { retryable: false, summary: 'The live trader\'s ledger named in the message does not exist: no trader has run with this state folder, so there is no paper-trading day to report (dolphin daily).' },
});
