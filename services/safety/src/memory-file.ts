import { JsonStateFile } from '@dolphin/service-kit';
import { safetyMemorySchema } from './posture.ts';

/**
 * The hysteresis memory in `<stateDir>/safety.memory.json`, so a restarted safety service
 * keeps its posture and calm timers instead of relaxing at once.
 */
export class MemoryFile extends JsonStateFile<typeof safetyMemorySchema> {
  constructor(stateDir: string) {
    super(stateDir, 'safety.memory.json', safetyMemorySchema, 'safety memory file unreadable; starting from the inputs alone');
  }
}
