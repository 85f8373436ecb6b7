import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import type { Logger } from '@dolphin/core';

/**
 * A service's small piece of durable local state in one JSON file, replaced atomically
 * (written beside, then renamed over) and validated when read back: an unreadable file is
 * reported and treated as absent, never trusted.
 */
export class JsonStateFile<S extends z.ZodType> {
  readonly file: string;
  private readonly tmp: string;
  private readonly schema: S;
  private readonly unreadable: string;

  /** `unreadable`: the warning logged for a file that does not parse or validate. */
  constructor(stateDir: string, name: string, schema: S, unreadable: string) {
    mkdirSync(stateDir, { recursive: true });
    this.file = path.join(stateDir, name);
    this.tmp = `${this.file}.tmp`;
    this.schema = schema;
    this.unreadable = unreadable;
  }

  load(logger: Logger): z.infer<S> | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    const parsed = this.schema.safeParse(data);
    if (!parsed.success) {
      logger.warn({ file: this.file }, this.unreadable);
      return undefined;
    }
    return parsed.data;
  }

  /** At shutdown: written before the process exits. */
  saveSync(value: z.infer<S>): void {
    writeFileSync(this.tmp, JSON.stringify(value));
    renameSync(this.tmp, this.file);
  }

  /**
   * While running: on libuv's threads, so a rename stuck behind a journal commit (seen to take
   * 200 ms on a busy disk) never stalls the event loop. Keep one save in flight at a time.
   */
  async save(value: z.infer<S>): Promise<void> {
    await writeFile(this.tmp, JSON.stringify(value));
    await rename(this.tmp, this.file);
  }
}
