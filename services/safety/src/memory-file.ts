import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@dolphin/core';
import { safetyMemorySchema, type SafetyMemory } from './posture.ts';

/**
 * The hysteresis memory in `<stateDir>/safety.memory.json`, so a restarted safety service
 * keeps its posture and calm timers instead of relaxing at once.
 */
export class MemoryFile {
  readonly file: string;
  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.file = path.join(stateDir, 'safety.memory.json');
  }

  load(logger: Logger): SafetyMemory | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    const parsed = safetyMemorySchema.safeParse((() => { try { return JSON.parse(text); } catch { return undefined; } })());
    if (!parsed.success) {
      logger.warn({ file: this.file }, 'safety memory file unreadable; starting from the inputs alone');
      return undefined;
    }
    return parsed.data;
  }

  async save(memory: SafetyMemory): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(memory));
    await rename(tmp, this.file);
  }
}
