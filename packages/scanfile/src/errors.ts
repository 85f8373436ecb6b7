import { defineErrors } from '@dolphin/core';

export const ScanFileErrors = defineErrors({
  DOLPHIN_SCANFILE_NOT_ARROW: { retryable: false, summary: 'The file is not Arrow IPC (neither the file magic ARROW1 nor a stream continuation marker at its start).' },
  DOLPHIN_SCANFILE_EMPTY: { retryable: false, summary: 'The file stayed empty (0 bytes) for the settle time.' },
  DOLPHIN_SCANFILE_TRUNCATED: { retryable: false, summary: 'The file stayed incomplete (no Arrow footer or end-of-stream marker) for the settle time.' },
  DOLPHIN_SCANFILE_CORRUPT: { retryable: false, summary: 'The file looks complete but Arrow cannot decode it; the message carries Arrow\'s reason.' },
  DOLPHIN_SCANFILE_NO_ROWS: { retryable: false, summary: 'The file decodes but holds no scan rows.' },
  DOLPHIN_SCANFILE_UNREADABLE: { retryable: false, summary: 'The file cannot be read at all (permissions, a folder named *.arrow); the reason carries the system error.' },
  DOLPHIN_SCANFILE_TOO_LARGE: { retryable: false, summary: 'The file is larger than the largest plausible scan (bridge.maxScanBytes); quarantined without being read.' },
  DOLPHIN_SCANFILE_FUTURE: { retryable: false, summary: 'A scan is dated further ahead of this host\'s clock than security.maxClockSkewMs; quarantined rather than believed.' },
  DOLPHIN_SCANFILE_BAD_SCHEMA: { retryable: false, summary: 'A row fails the scan schema; the message names the row and every failing column.' },
});
