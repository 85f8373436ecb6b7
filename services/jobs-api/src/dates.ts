import { z } from 'zod';

const DAY_MS = 86_400_000;

/** A real calendar day, YYYY-MM-DD. */
export const dateSchema = z.iso.date();

/** Sorted, without duplicates. */
export function normalizeDates(dates: readonly string[]): string[] {
  return [...new Set(dates)].sort();
}

/**
 * Dates from the command line: `2026-12-01`, `2026-12-01,2026-12-03`, `2026-12-01..2026-12-05`
 * (inclusive), or a mix; throws naming the part it cannot read.
 */
export function parseDateSpec(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [a, b] = part.split('..');
    if (!dateSchema.safeParse(a).success || (b !== undefined && !dateSchema.safeParse(b).success)) {
      throw new Error(`"${part}" is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)`);
    }
    if (b === undefined) {
      out.push(a as string);
      continue;
    }
    const from = Date.parse(`${a}T00:00:00Z`);
    const to = Date.parse(`${b}T00:00:00Z`);
    if (to < from) throw new Error(`"${part}" ends before it starts`);
    for (let t = from; t <= to; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  }
  if (out.length === 0) throw new Error('no dates given');
  return normalizeDates(out);
}
