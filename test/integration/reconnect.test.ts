import { afterAll, describe, expect, it } from 'vitest';
import { MapNames, featureScanSchema, sampleFeatureScan, type FeatureScan } from '@dolphin/core';
import { freePort, openMap, startMember, watchMap, connect, type MemberHandle, type KeyUpdate } from '@dolphin/hz';
import { hazelcastSettings, testLogger, waitFor } from '@dolphin/test-support';

const handles: MemberHandle[] = [];
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await Promise.all(handles.map((h) => h.stop(10_000)));
});

const scan = (n: number): FeatureScan => ({ ...sampleFeatureScan, scan_number: n, bridge_ts: new Date(Date.UTC(2026, 10, 24, 10, 0, n)).toISOString() });

describe('a client survives a member restart without restarting', () => {
  it('reconnects, re-reads what it missed, and its listener sees the next update', async () => {
    const port = await freePort();
    const clusterName = `dolphin-reconnect-${port}`;
    const logger = testLogger('reconnect');
    handles.push(await startMember({ port, clusterName, heapMb: 256, logger }));

    // A slow, fixed reconnect backoff for the listening client, so a value written to the new
    // member lands while it is still disconnected: only the re-read after reconnect can see it.
    const listenerConn = await connect({
      settings: hazelcastSettings(clusterName, [`127.0.0.1:${port}`], { reconnect: { initialMs: 8_000, maxMs: 8_000, multiplier: 1, jitter: 0 } }),
      logger,
      firstConnectTimeoutMs: 30_000,
    });
    closers.push(() => listenerConn.shutdown());
    const clientBefore = listenerConn.client;
    const updates: Array<KeyUpdate<FeatureScan>> = [];
    const features = await openMap(listenerConn, MapNames.FEATURES, featureScanSchema);
    const watch = watchMap(listenerConn, features, { key: 'latest_eigen_scan', onUpdate: (u) => updates.push(u) });
    closers.push(() => watch.close());
    await watch.ready;
    let reconnectedAt = 0;
    listenerConn.events.on('connected', () => { reconnectedAt = Date.now(); });

    await features.set('latest_eigen_scan', scan(1));
    await waitFor(() => updates.find((u) => u.value.scan_number === 1), 'event for scan 1');
    expect(updates.at(-1)?.source).toBe('event');

    // The member dies hard and a new one takes its place (same port and cluster name, empty maps).
    await handles[0]!.kill();
    await waitFor(() => !listenerConn.isConnected(), 'client to notice the disconnect');
    handles.push(await startMember({ port, clusterName, heapMb: 256, logger }));
    const writer = await connect({ settings: hazelcastSettings(clusterName, [`127.0.0.1:${port}`]), logger, firstConnectTimeoutMs: 30_000 });
    closers.push(() => writer.shutdown());
    const writerFeatures = await openMap(writer, MapNames.FEATURES, featureScanSchema);
    await writerFeatures.set('latest_eigen_scan', scan(2));
    const writtenAt = Date.now();

    const second = await waitFor(() => updates.find((u) => u.value.scan_number === 2), 'scan 2 after the restart', 60_000);
    expect(listenerConn.isConnected()).toBe(true);
    expect(listenerConn.client).toBe(clientBefore); // the same client object: nothing restarted
    // Written while the listener was away: only the re-read can have delivered it.
    expect(second.source).toBe(writtenAt < reconnectedAt ? 'reread' : 'event');

    // The listener was re-registered on the new member: the next update arrives as an event.
    await writerFeatures.set('latest_eigen_scan', scan(3));
    const third = await waitFor(() => updates.find((u) => u.value.scan_number === 3), 'event for scan 3');
    expect(third.source).toBe('event');
    expect(updates.map((u) => u.value.scan_number)).toEqual([1, 2, 3]);
  });
});
