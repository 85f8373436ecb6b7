import { featureScanSchema, Keys, MapNames, nowEpochNs, safetySchema } from '@dolphin/core';
import { openMap, watchMap, type HzConnection } from '@dolphin/hz';
import type { EventTrader } from './trader.ts';

/**
 * The trader's inputs: an entry listener on latest_eigen_scan (no polling) and one on the
 * safety posture, kept in the trader's local cache. Safety is watched first, so the first scan
 * already sees it. Each listener re-reads its key after a reconnect.
 */
export async function attachTraderListeners(hz: HzConnection, trader: EventTrader): Promise<{ close(): Promise<void> }> {
  const safetyMap = await openMap(hz, MapNames.SAFETY, safetySchema);
  const safetyWatch = watchMap(hz, safetyMap, { key: Keys.SAFETY_LATEST, onUpdate: (u) => trader.setSafety(u.value) });
  await safetyWatch.ready;
  const features = await openMap(hz, MapNames.FEATURES, featureScanSchema);
  const scanWatch = watchMap(hz, features, { key: Keys.LATEST_EIGEN_SCAN, onUpdate: (u) => void trader.onScan(u.value, nowEpochNs()) });
  await scanWatch.ready;
  return {
    async close() {
      await scanWatch.close();
      await safetyWatch.close();
    },
  };
}
