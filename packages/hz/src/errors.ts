import { defineErrors } from '@dolphin/core';

export const HzErrors = defineErrors({
  DOLPHIN_HZ_JAVA_NOT_FOUND: { retryable: false, summary: 'No java binary for the member: set member.javaHome, JAVA_HOME or put java on PATH.' },
  DOLPHIN_HZ_JAR_NOT_FOUND: { retryable: false, summary: 'The Hazelcast member jar is missing; run deploy/hazelcast/fetch-member.sh.' },
  DOLPHIN_HZ_PORT_IN_USE: { retryable: false, summary: 'Something already listens on the member port; stop it or choose member.port.' },
  DOLPHIN_HZ_MEMBER_EXITED: { retryable: true, summary: 'The member process exited before it answered; the message carries its last log lines.' },
  DOLPHIN_HZ_MEMBER_START_TIMEOUT: { retryable: true, summary: 'The member did not answer its health check in time.' },
  DOLPHIN_HZ_CONNECT_TIMEOUT: { retryable: true, summary: 'The client could not reach any member within the configured time.' },
  DOLPHIN_HZ_OPERATION_TIMEOUT: { retryable: true, summary: 'A map operation did not finish within hazelcast.operationTimeoutMs.' },
  DOLPHIN_HZ_BAD_JSON: { retryable: false, summary: 'A map value is not a JSON string; the message names map and key.' },
  DOLPHIN_HZ_UNSEALED: { retryable: false, summary: 'A value carries no MAC of Dolphin\'s: something other than a Dolphin process wrote it; refused and counted.' },
  DOLPHIN_HZ_BAD_SEAL: { retryable: false, summary: 'A value\'s MAC does not match its text and place: forged, altered or written with another key; refused and counted.' },
  DOLPHIN_HZ_SEAL_KEY: { retryable: false, summary: 'The key that seals Dolphin\'s values cannot be read or created, is too short, or other users may read it; the message names the file.' },
  DOLPHIN_HZ_NOT_LEADER: { retryable: false, summary: 'A write was asked of a candidate that is not the leader of its role (standby, or its lease deadline passed); not written.' },
  DOLPHIN_HZ_STALE_EPOCH: { retryable: false, summary: 'A value written under an older leadership epoch than one already accepted; refused.' },
  DOLPHIN_HZ_LEADERSHIP_OPTIONS: { retryable: false, summary: 'Leadership timing or role that cannot be safe; the message names each option.' },
});
