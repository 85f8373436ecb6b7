import { EventEmitter } from 'node:events';
import { makeError, type LifecycleState } from '@dolphin/core';
import { KitErrors } from './errors.ts';

const ALLOWED: Record<LifecycleState, readonly LifecycleState[]> = {
  idle: ['starting'],
  starting: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/** idle → starting → running → stopping → stopped | failed; every change is an event. */
export class Lifecycle extends EventEmitter<{ change: [to: LifecycleState, from: LifecycleState] }> {
  private current: LifecycleState = 'idle';

  get state(): LifecycleState {
    return this.current;
  }

  canMoveTo(to: LifecycleState): boolean {
    return ALLOWED[this.current].includes(to);
  }

  moveTo(to: LifecycleState): void {
    if (!this.canMoveTo(to)) {
      throw makeError(KitErrors.DOLPHIN_KIT_BAD_TRANSITION, `lifecycle: ${this.current} → ${to} is not allowed`);
    }
    const from = this.current;
    this.current = to;
    this.emit('change', to, from);
  }
}
