import { defineErrors } from '@dolphin/core';

export const JobsErrors = defineErrors({
  DOLPHIN_JOBS_CONFIG_NOT_ALLOWED: { retryable: false, summary: 'A backtest config_path that is absent, or resolves outside the configs folder (.., an absolute path elsewhere, a symlink out): refused without reading it.' },
  DOLPHIN_JOBS_CONFIG_INVALID: { retryable: false, summary: 'A backtest config file that is not JSON or breaks its schema; the message names the file and the field.' },
  DOLPHIN_JOBS_UNREACHABLE: { retryable: true, summary: 'The jobs API does not answer at jobs.host:jobs.port (not running, or still starting); the message names the address and the request.' },
  DOLPHIN_JOBS_REFUSED: { retryable: false, summary: 'The jobs API answered a request with an error (a wrong token, a backtest config it refuses, a report that breaks the schema); the message quotes its status and words.' },
});
