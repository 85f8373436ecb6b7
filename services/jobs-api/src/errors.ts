import { defineErrors } from '@dolphin/core';

export const JobsErrors = defineErrors({
  DOLPHIN_JOBS_CONFIG_NOT_ALLOWED: { retryable: false, summary: 'A backtest config_path that is absent, or resolves outside the configs folder (.., an absolute path elsewhere, a symlink out): refused without reading it.' },
  DOLPHIN_JOBS_CONFIG_INVALID: { retryable: false, summary: 'A backtest config file that is not JSON or breaks its schema; the message names the file and the field.' },
});
