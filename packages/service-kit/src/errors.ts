import { defineErrors } from '@dolphin/core';

export const KitErrors = defineErrors({
  DOLPHIN_KIT_BAD_TRANSITION: { retryable: false, summary: 'A lifecycle transition that the state machine does not allow (e.g. stopped → running).' },
  DOLPHIN_KIT_COMPONENT_TIMEOUT: { retryable: false, summary: 'A component did not close within its timeout and was abandoned.' },
  DOLPHIN_KIT_DUPLICATE_NAME: { retryable: false, summary: 'A component or state was registered twice under one name.' },
  DOLPHIN_KIT_SNAPSHOT_REJECTED: { retryable: false, summary: 'A restart snapshot was ignored: wrong marker, bad checksum, too old, or unreadable.' },
});
