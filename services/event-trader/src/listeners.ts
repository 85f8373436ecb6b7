import type { Ringbuffer } from 'hazelcast-client';
import { exfSchema, featureScanSchema, Keys, MapNames, nowEpochNs, obFeaturesSchema, RingbufferNames, safetySchema, type FeatureScan, type Logger } from '@dolphin/core';
import { openMap, watchMap, type HzConnection } from '@dolphin/hz';
import type { EventTrader } from './trader.ts';

/** The scan history the bridge appends to (services/scan-bridge). */
export const SCAN_HISTORY = RingbufferNames.SCAN_HISTORY;
/** At most this many missed scans are decided at start; a longer outage resumes from the newest of them. */
export const MAX_CATCH_UP = 1_000;

/**
 * Scans the bridge published after `afterTsNs`, oldest first, from the scan history: what a
 * trader that was down missed (the map holds only the latest).
 */
export async function missedScans(history: Ringbuffer<string>, afterTsNs: number, logger: Logger, max = MAX_CATCH_UP): Promise<FeatureScan[]> {
  const head = (await history.headSequence()).toNumber();
  const tail = (await history.tailSequence()).toNumber();
  const out: FeatureScan[] = [];
  // Newest first, back to the last scan decided (at most `max` of them).
  for (let seq = tail; seq >= head && seq >= 0 && out.length < max; seq--) {
    let scan: FeatureScan;
    try {
      scan = featureScanSchema.parse(JSON.parse(await history.readOne(seq)));
    } catch (err) {
      logger.warn({ err, seq }, 'unreadable scan history entry skipped');
      continue;
    }
    if (scan.timestamp_ns <= afterTsNs) break;
    out.push(scan);
  }
  return out.reverse();
}

/**
 * The trader's inputs: an entry listener on latest_eigen_scan (no polling), and listeners on
 * the safety posture, exf_latest and ob_features_latest kept in the trader's local caches. Safety is watched first, so the first scan
 * already sees it. At start, scans published while the trader was down are decided from the
 * scan history, in order, before the live ones (events that arrive meanwhile wait; the
 * strategy skips what it has already decided). Each listener re-reads its key after a reconnect.
 */
export async function attachTraderListeners(hz: HzConnection, trader: EventTrader, logger: Logger): Promise<{ close(): Promise<void> }> {
  const safetyMap = await openMap(hz, MapNames.SAFETY, safetySchema);
  const safetyWatch = watchMap(hz, safetyMap, { key: Keys.SAFETY_LATEST, onUpdate: (u) => trader.setSafety(u.value) });
  // The indicator feeds, cached the same way (each key of DOLPHIN_FEATURES has its own schema).
  const exfWatch = watchMap(hz, await openMap(hz, MapNames.FEATURES, exfSchema), { key: Keys.EXF_LATEST, onUpdate: (u) => trader.setExf(u.value) });
  const obWatch = watchMap(hz, await openMap(hz, MapNames.FEATURES, obFeaturesSchema), { key: Keys.OB_FEATURES_LATEST, onUpdate: (u) => trader.setOb(u.value) });
  await Promise.all([safetyWatch.ready, exfWatch.ready, obWatch.ready]);

  let held: Array<[FeatureScan, number]> | undefined = [];
  const features = await openMap(hz, MapNames.FEATURES, featureScanSchema);
  const scanWatch = watchMap(hz, features, {
    key: Keys.LATEST_EIGEN_SCAN,
    onUpdate: (u) => {
      const receivedNs = nowEpochNs();
      if (held) held.push([u.value, receivedNs]);
      else void trader.onScan(u.value, receivedNs);
    },
  });
  await scanWatch.ready;
  // A new ledger starts from the latest scan: history is not news. A trader that has traded
  // before decides what it missed.
  if (trader.current.lastScanTsNs > 0) try {
    const history = await hz.client.getRingbuffer<string>(SCAN_HISTORY);
    const missed = await missedScans(history, trader.current.lastScanTsNs, logger);
    if (missed.length > 0) logger.info({ scans: missed.length, from: missed[0]?.scan_number, to: missed.at(-1)?.scan_number }, 'deciding scans published while the trader was down');
    for (const scan of missed) void trader.onScan(scan, nowEpochNs());
  } catch (err) {
    logger.warn({ err }, 'could not read the scan history; trading on from the latest scan');
  }
  const waiting = held;
  held = undefined;
  for (const [scan, receivedNs] of waiting) void trader.onScan(scan, receivedNs);
  return {
    async close() {
      await scanWatch.close();
      await Promise.all([safetyWatch.close(), exfWatch.close(), obWatch.close()]);
    },
  };
}
