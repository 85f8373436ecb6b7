import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@dolphin/core';
import { positionSchema, type Position } from './scan-order.ts';

/** The bridge's last published position in `<stateDir>/scan-bridge.position.json`, replaced atomically. */
export class PositionStore {
  readonly file: string;
  private readonly tmp: string;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.file = path.join(stateDir, 'scan-bridge.position.json');
    this.tmp = `${this.file}.tmp`;
  }

  load(logger: Logger): Position | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return positionSchema.parse(JSON.parse(text));
    } catch (err) {
      logger.warn({ err, file: this.file }, 'bridge position file unreadable; relying on the map and the folder');
      return undefined;
    }
  }

  /** At shutdown: written before the process exits. */
  saveSync(position: Position): void {
    writeFileSync(this.tmp, JSON.stringify(position));
    renameSync(this.tmp, this.file);
  }

  /**
   * While running: on libuv's threads, so a rename stuck behind a journal commit (seen to take
   * 200 ms on a busy disk) never stalls the event loop. The caller keeps one save in flight.
   */
  async save(position: Position): Promise<void> {
    await writeFile(this.tmp, JSON.stringify(position));
    await rename(this.tmp, this.file);
  }
}
