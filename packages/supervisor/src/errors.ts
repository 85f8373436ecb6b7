import { defineErrors } from '@dolphin/core';

export const SupervisorErrors = defineErrors({
  DOLPHIN_SUPERVISOR_DEPENDENCY_CYCLE: { retryable: false, summary: 'Services of the registry depend on each other in a cycle; the message names it. Fix dependsOn.' },
  DOLPHIN_SUPERVISOR_NOT_RUNNING: { retryable: true, summary: 'No supervisor answers: its run file (.dolphin/run/supervisor.json) is missing, stale, or its control endpoint is silent. Start one with dolphin up.' },
  DOLPHIN_SUPERVISOR_FIREWALL_USER: { retryable: false, summary: 'A user allowed through the member-port firewall is not in /etc/passwd (nor a numeric uid 0..4294967294); the message names it.' },
  DOLPHIN_SUPERVISOR_FIREWALL_TARGET: { retryable: false, summary: 'A member address or port for the member-port firewall is not usable: a host name instead of an IP address, a bad prefix or port; the message names it.' },
  DOLPHIN_SUPERVISOR_FIREWALL_APPLY: { retryable: false, summary: 'dolphin firewall apply could not apply the rules: nft is missing (apt-get install nftables), the command is not run as root, or nft refused the ruleset; the message says which.' },
  DOLPHIN_SUPERVISOR_REFUSED: { retryable: false, summary: 'The control endpoint refused the request (an unknown service, a wrong token, or the supervisor is stopping); the message says which.' },
});
