import { makeError } from '@dolphin/core';
import { HzErrors } from './errors.ts';

/** Rejects with DOLPHIN_HZ_OPERATION_TIMEOUT when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(makeError(HzErrors.DOLPHIN_HZ_OPERATION_TIMEOUT, `${what}: no answer within ${ms} ms`)),
      ms,
    );
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
