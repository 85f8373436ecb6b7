import type { Ringbuffer } from 'hazelcast-client';
import type { FeatureScan, Logger } from '@dolphin/core';

/**
 * The last scans the bridge published, as JSON strings in a Hazelcast Ringbuffer: bounded by its
 * capacity in deploy/hazelcast/hazelcast.xml (10,000, oldest overwritten first), readable by
 * sequence for the dashboard and for replay.
 */
export const HISTORY_RINGBUFFER = 'DOLPHIN_SCAN_HISTORY';

/**
 * A bridge killed between its put and its history append leaves the history one scan short;
 * at start, append the published scan when the history's newest entry is older.
 */
export async function reconcileHistory(history: Ringbuffer<string>, latest: FeatureScan | undefined, logger: Logger): Promise<void> {
  if (!latest) return;
  const tail = (await history.tailSequence()).toNumber();
  let tailTs = -1;
  if (tail >= 0) {
    try {
      tailTs = (JSON.parse(await history.readOne(tail)) as { timestamp_ns?: number }).timestamp_ns ?? -1;
    } catch { /* unreadable entry: append */ }
  }
  if (latest.timestamp_ns > tailTs) {
    await history.add(JSON.stringify(latest));
    logger.info({ scan_number: latest.scan_number }, 'scan history was one scan short; appended the published scan');
  }
}
