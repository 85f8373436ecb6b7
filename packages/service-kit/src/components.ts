import { makeError, type Logger } from '@dolphin/core';
import { KitErrors } from './errors.ts';

export type CloseFn = () => unknown;

export interface ComponentOptions {
  /** How long close() may take before it is abandoned (default: shutdown.componentTimeoutMs). */
  timeoutMs?: number;
}

export interface CloseReport {
  name: string;
  outcome: 'closed' | 'failed' | 'timeout';
  ms: number;
}

interface Entry {
  name: string;
  close: CloseFn;
  timeoutMs: number;
}

/**
 * Components a service opened, closed in reverse order of registration, each within its own
 * timeout. A component that hangs is abandoned (logged) and the next one closes anyway.
 */
export class ComponentStack {
  private readonly entries: Entry[] = [];
  private readonly defaultTimeoutMs: number;
  private readonly logger: Logger;

  constructor(defaultTimeoutMs: number, logger: Logger) {
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.logger = logger;
  }

  register(name: string, close: CloseFn, options: ComponentOptions = {}): void {
    if (this.entries.some((e) => e.name === name)) {
      throw makeError(KitErrors.DOLPHIN_KIT_DUPLICATE_NAME, `component "${name}" is already registered`);
    }
    this.entries.push({ name, close, timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs });
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** Closes everything, last registered first; never throws. */
  async closeAll(): Promise<CloseReport[]> {
    const reports: CloseReport[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop() as Entry;
      reports.push(await this.closeOne(entry));
    }
    return reports;
  }

  private async closeOne(entry: Entry): Promise<CloseReport> {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), entry.timeoutMs);
    });
    let outcome: CloseReport['outcome'];
    try {
      const result = await Promise.race([Promise.resolve().then(entry.close).then(() => 'closed' as const), timeout]);
      outcome = result;
    } catch (err) {
      outcome = 'failed';
      this.logger.error({ err, component: entry.name }, 'component failed to close');
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - t0;
    if (outcome === 'timeout') {
      const err = makeError(KitErrors.DOLPHIN_KIT_COMPONENT_TIMEOUT, `component "${entry.name}" did not close within ${entry.timeoutMs} ms; abandoned`);
      this.logger.warn({ err, component: entry.name, timeoutMs: entry.timeoutMs }, err.message);
    } else if (outcome === 'closed') {
      this.logger.info({ component: entry.name, ms: Math.round(ms) }, 'component closed');
    }
    return { name: entry.name, outcome, ms };
  }
}
