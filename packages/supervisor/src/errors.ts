import { defineErrors } from '@dolphin/core';

export const SupervisorErrors = defineErrors({
  DOLPHIN_SUPERVISOR_DEPENDENCY_CYCLE: { retryable: false, summary: 'Services of the registry depend on each other in a cycle; the message names it. Fix dependsOn.' },
  DOLPHIN_SUPERVISOR_NOT_RUNNING: { retryable: true, summary: 'No supervisor answers: its run file (.dolphin/run/supervisor.json) is missing, stale, or its control endpoint is silent. Start one with dolphin up.' },
  DOLPHIN_SUPERVISOR_REFUSED: { retryable: false, summary: 'The control endpoint refused the request (an unknown service, a wrong token, or the supervisor is stopping); the message says which.' },
});
