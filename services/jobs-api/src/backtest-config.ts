import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues, fromRoot, makeError } from '@dolphin/core';
import { strategyParamsSchema } from '@dolphin/strategy';
import { JobsErrors } from './errors.ts';

/** A model: a strategy signature and its parameters (the live trader's, with overrides). */
export const modelSchema = z.strictObject({
  signature: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (up to 64)'),
  enabled: z.boolean().default(true),
  /** Strategy parameters (docs/strategy.md); checked per model-day, so one bad model fails alone. */
  strategy: z.record(z.string(), z.unknown()).default({}),
});
export type ModelSpec = z.infer<typeof modelSchema>;

/** A backtest config file (in jobs.configsDir). Paths are relative to the checkout. */
export const backtestConfigSchema = z.strictObject({
  description: z.string().optional(),
  /** Archived scans: <scans>/YYYY-MM-DD/*.arrow (default: the live scan folder). */
  scans: z.string().min(1).transform(fromRoot).optional(),
  /**
   * The decisions' inputs as a live run saw them: the event trader's ledger records the safety
   * posture each time it changed. `{"live": true}` is this install's own trader's ledger
   * (<stateDir>/event-trader.db), wherever its state folder is. Without it, every scan is
   * decided at APEX, full size.
   */
  inputs: z.union([
    z.strictObject({ ledger: z.string().min(1).transform(fromRoot) }),
    z.strictObject({ live: z.literal(true) }),
  ]).optional(),
  /** Archived indicator series (the replay files of services/indicators), counted and passed on. */
  indicators: z.string().min(1).transform(fromRoot).optional(),
  models: z.array(modelSchema).min(1).superRefine((models, ctx) => {
    const seen = new Set<string>();
    for (const [i, m] of models.entries()) {
      if (seen.has(m.signature)) ctx.addIssue({ code: 'custom', path: [i, 'signature'], message: `"${m.signature}" appears twice` });
      seen.add(m.signature);
    }
  }),
});
export type BacktestConfig = z.infer<typeof backtestConfigSchema>;

/**
 * The real path of `configPath` if it lies inside `configsDir`, else a refusal that does not
 * read it: a path with `..`, an absolute path elsewhere, a symlink that points out, a file
 * that does not exist.
 */
export function resolveConfigPath(configsDir: string, configPath: string): string {
  const refuse = (why: string) => makeError(JobsErrors.DOLPHIN_JOBS_CONFIG_NOT_ALLOWED, `config_path "${configPath}" ${why}`);
  if (configPath.split(/[\\/]/).includes('..')) throw refuse('is not allowed: it may not contain ".."');
  const root = existsSync(configsDir) ? realpathSync(configsDir) : path.resolve(configsDir);
  const candidate = path.resolve(root, configPath);
  if (candidate !== root && !candidate.startsWith(`${root}${path.sep}`)) throw refuse(`is not allowed: it is outside the configs folder ${root}`);
  if (!existsSync(candidate)) throw refuse(`does not exist in the configs folder ${root}`);
  const real = realpathSync(candidate);
  if (!real.startsWith(`${root}${path.sep}`)) throw refuse('is not allowed: it is a link to a file outside the configs folder');
  return real;
}

/** Reads and validates a backtest config (already resolved by resolveConfigPath). */
export function readBacktestConfig(file: string): BacktestConfig {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw makeError(JobsErrors.DOLPHIN_JOBS_CONFIG_INVALID, `${file}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return parseBacktestConfig(data, file);
}

export function parseBacktestConfig(data: unknown, where: string): BacktestConfig {
  const r = backtestConfigSchema.safeParse(data);
  if (!r.success) throw makeError(JobsErrors.DOLPHIN_JOBS_CONFIG_INVALID, `${where}: ${formatIssues(r.error.issues).join('; ')}`);
  return r.data;
}

/** A model's strategy parameters, or the reason they are not valid. */
export function modelParams(m: ModelSpec) {
  return strategyParamsSchema.safeParse(m.strategy);
}
