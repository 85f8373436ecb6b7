import type { Ringbuffer } from 'hazelcast-client';
import { RingbufferNames, type Logger } from '@dolphin/core';

/**
 * The last scans the bridge published (and late ones it could not publish over newer ones), as
 * sealed JSON strings in a Hazelcast Ringbuffer: bounded by its capacity in
 * deploy/hazelcast/hazelcast.xml (10,000, oldest overwritten first), readable by sequence for the
 * dashboard, replay and a trader catching up. Best effort: the scan files are the durable record.
 */
export const HISTORY_RINGBUFFER = RingbufferNames.SCAN_HISTORY;

/** The time of the history's newest scan, or undefined when it is empty (or its newest entry unreadable). */
export async function historyTail(history: Ringbuffer<string>): Promise<number | undefined> {
  const tail = (await history.tailSequence()).toNumber();
  if (tail < 0) return undefined;
  try {
    const ts = (JSON.parse(await history.readOne(tail)) as { timestamp_ns?: unknown }).timestamp_ns;
    return typeof ts === 'number' ? ts : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Appends published scans to the history in small batches (`addAll`), one batch in flight at a
 * time so the order holds: one ringbuffer operation per batch instead of one per scan keeps the
 * member's work, and so the put path's, lighter at high rates.
 */
export class HistoryAppender {
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly history: Ringbuffer<string>;
  private readonly logger: Logger;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;

  constructor(history: Ringbuffer<string>, logger: Logger, maxBatch = 64, maxDelayMs = 5) {
    this.history = history;
    this.logger = logger;
    this.maxBatch = maxBatch;
    this.maxDelayMs = maxDelayMs;
  }

  append(text: string): void {
    this.buffer.push(text);
    if (this.buffer.length >= this.maxBatch) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
      this.timer.unref();
    }
  }

  /** Sends what is buffered; resolves when everything appended so far is in the history. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) {
      const items = this.buffer;
      this.buffer = [];
      this.chain = this.chain.then(async () => {
        try {
          await this.history.addAll(items);
        } catch (err) {
          this.logger.warn({ err, scans: items.length }, 'scan history append failed');
        }
      });
    }
    return this.chain;
  }
}
