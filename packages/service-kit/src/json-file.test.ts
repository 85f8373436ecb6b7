import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '@dolphin/core';
import { JsonStateFile } from './json-file.ts';

const schema = z.strictObject({ n: z.number().int(), at: z.string() });
const dir = () => mkdtempSync(path.join(os.tmpdir(), 'dolphin-jsonfile-'));

/** A logger whose warnings the test can read. */
function recording() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ service: 'test', level: 'warn', destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } as unknown as NodeJS.WritableStream });
  return { logger, lines };
}

describe('JsonStateFile', () => {
  it('round-trips a value, sync and async, leaving no temp file', async () => {
    const f = new JsonStateFile(dir(), 'x.json', schema, 'x unreadable');
    const { logger } = recording();
    expect(f.load(logger)).toBeUndefined();
    f.saveSync({ n: 1, at: 'a' });
    expect(f.load(logger)).toEqual({ n: 1, at: 'a' });
    await f.save({ n: 2, at: 'b' });
    expect(JSON.parse(readFileSync(f.file, 'utf8'))).toEqual({ n: 2, at: 'b' });
    expect(existsSync(`${f.file}.tmp`)).toBe(false);
  });

  it('treats a file that does not parse or validate as absent, and says so', () => {
    const d = dir();
    const { logger, lines } = recording();
    const f = new JsonStateFile(d, 'x.json', schema, 'x unreadable; going on without it');
    writeFileSync(f.file, '{"n": 1,');
    expect(f.load(logger)).toBeUndefined();
    writeFileSync(f.file, '{"n": 1.5, "at": "a"}');
    expect(f.load(logger)).toBeUndefined();
    expect(lines.map((l) => l.msg)).toEqual(['x unreadable; going on without it', 'x unreadable; going on without it']);
    expect(lines[0]?.file).toBe(f.file);
  });
});
