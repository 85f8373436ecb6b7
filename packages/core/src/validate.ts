import type { z } from 'zod';
import { CoreErrors, makeError, type DolphinError } from './errors.ts';

/** One line per zod issue: `field.path: reason`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(value)'}: ${i.message}`);
}

/**
 * Validates `value` against `schema`; on failure throws DOLPHIN_CONTRACT_INVALID whose message
 * starts with `where` (e.g. `DOLPHIN_SAFETY["latest"]`) and names every failing field.
 */
export function validateOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw contractError(where, result.error.issues);
}

export function contractError(where: string, issues: readonly z.core.$ZodIssue[], cause?: unknown): DolphinError {
  const lines = formatIssues(issues);
  return makeError(CoreErrors.DOLPHIN_CONTRACT_INVALID, `${where}: ${lines.join('; ')}`, {
    cause,
    details: { where, fields: issues.map((i) => i.path.join('.')) },
  });
}
