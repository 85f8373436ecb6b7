import { createLogger, type Logger } from '@dolphin/core';

/** Quiet unless DOLPHIN_TEST_LOG=debug|info is set. */
export function testLogger(service = 'test'): Logger {
  const level = (process.env.DOLPHIN_TEST_LOG ?? 'silent') as 'silent';
  return createLogger({ service, level, pretty: 'never' });
}
