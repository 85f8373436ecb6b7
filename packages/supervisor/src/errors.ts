import { defineErrors } from '@dolphin/core';

export const SupervisorErrors = defineErrors({
  DOLPHIN_SUPERVISOR_DEPENDENCY_CYCLE: { retryable: false, summary: 'Services of the registry depend on each other in a cycle; the message names it. Fix dependsOn.' },
  DOLPHIN_SUPERVISOR_NOT_RUNNING: { retryable: true, summary: 'No supervisor answers: its run file (.dolphin/run/supervisor.json) is missing, stale, or its control endpoint is silent. Start one with dolphin up.' },
  DOLPHIN_SUPERVISOR_FIREWALL_USER: { retryable: false, summary: 'A user allowed through the member-port firewall is not in /etc/passwd (nor a numeric uid 0..4294967294); the message names it.' },
  DOLPHIN_SUPERVISOR_FIREWALL_TARGET: { retryable: false, summary: 'A member address or port for the member-port firewall is not usable: a host name instead of an IP address, a bad prefix or port; the message names it.' },
  DOLPHIN_SUPERVISOR_FIREWALL_APPLY: { retryable: false, summary: 'dolphin firewall apply could not apply the rules: nft is missing (apt-get install nftables), the command is not run as root, or nft refused the ruleset; the message says which.' },
  DOLPHIN_SUPERVISOR_REFUSED: { retryable: false, summary: 'The control endpoint refused the request (an unknown service, a wrong token, or the supervisor is stopping); the message says which.' },
  DOLPHIN_INSTALL_NOT_ROOT: { retryable: false, summary: 'dolphin install/uninstall was not run as root; run it with sudo.' },
  DOLPHIN_INSTALL_NO_SYSTEMD: { retryable: false, summary: 'dolphin install found no running systemd (no /run/systemd/system, or no systemctl); run Dolphin with dolphin up there instead.' },
  DOLPHIN_INSTALL_PREFIX_TAKEN: { retryable: false, summary: 'The install prefix holds files that dolphin install did not put there (another checkout, or another install\'s user); the message names it. Choose another --prefix or move it away.' },
  DOLPHIN_INSTALL_USER_EXISTS: { retryable: false, summary: 'The service user already exists and was not created by dolphin install; the message names it. Choose another --user, or remove that user.' },
  DOLPHIN_INSTALL_PORT_TAKEN: { retryable: false, summary: 'A port Dolphin listens on (member, metrics, jobs API, dashboard) is taken on 127.0.0.1 by another program; the message names the port and its owner in the registry.' },
  DOLPHIN_INSTALL_BAD_OPTION: { retryable: false, summary: 'An install option is not usable (a relative path, a scans folder that is a file, a prefix inside the checkout); the message names it.' },
  DOLPHIN_INSTALL_NOT_STARTED: { retryable: true, summary: 'After the install, a unit did not become active in time (or failed); the install was rolled back; the message quotes the unit\'s state and its last journal lines.' },
});
