import { exfSchema, featureScanSchema, Keys, MapNames, nowEpochNs, obFeaturesSchema, safetySchema, type FeatureScan } from '@dolphin/core';
import { openMap, watchMap, type HzConnection } from '@dolphin/hz';
import type { EventTrader } from './trader.ts';

/**
 * The trader's inputs: an entry listener on latest_eigen_scan (no polling), and listeners on
 * the safety posture, exf_latest and ob_features_latest kept in the trader's local caches. Safety is watched first, so the first scan
 * already sees it. At start, the scans written while the trader was down are decided first, in
 * order, from the scan files and the history (trader.catchUp); events that arrive meanwhile wait,
 * and the strategy skips what it has already decided. Each listener re-reads its key after a
 * reconnect.
 */
export async function attachTraderListeners(hz: HzConnection, trader: EventTrader): Promise<{ close(): Promise<void> }> {
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
  void trader.catchUp();
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
