import { stripTypeScriptTypes } from 'node:module';

/**
 * TypeScript to JavaScript with Node's own type stripping (what Node runs Dolphin's code with);
 * throws on a syntax error. Node's one-line notice that the function is experimental is left
 * out of the log.
 */
export function stripTypes(source: string, file: string): string {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes('stripTypeScriptTypes')) (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(source, { mode: 'strip', sourceUrl: file });
  } finally {
    process.emitWarning = emit;
  }
}
