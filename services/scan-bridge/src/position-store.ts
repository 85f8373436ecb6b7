import { JsonStateFile } from '@dolphin/service-kit';
import { positionSchema } from './scan-order.ts';

/** The bridge's last published position in `<stateDir>/scan-bridge.position.json`. */
export class PositionStore extends JsonStateFile<typeof positionSchema> {
  constructor(stateDir: string) {
    super(stateDir, 'scan-bridge.position.json', positionSchema, 'bridge position file unreadable; relying on the map and the folder');
  }
}
