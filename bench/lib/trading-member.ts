import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isoMicros, Keys, loadConfig, MapNames, safetySchema, type Logger } from '@dolphin/core';
import { connect, freePort, openMap, openSeal, startMember } from '@dolphin/hz';

/**
 * A member for a trading-path benchmark on a free loopback port, a client of it, its JIT warmed
 * (a production member has run for days), and the safety posture APEX so the trader trades —
 * sealed with the key the benchmark hands its services (`keyFile`), as Dolphin's own values are.
 */
export async function startTradingMember(name: string, quick: boolean, logger: Logger) {
  const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), `dolphin-bench-key-${name}-`)), 'dolphin.key');
  const seal = openSeal(path.dirname(keyFile), keyFile, { create: true });
  const port = await freePort();
  const memberConfig = loadConfig().member;
  const member = await startMember({ port, clusterName: `bench-${name}-${port}`, heapMb: memberConfig.heapMb, extraJvmArgs: memberConfig.jvmArgs });
  const settings = { clusterName: member.clusterName, members: [member.address], connectTimeoutMs: 2_000, operationTimeoutMs: 10_000, reconnect: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 } };
  const conn = await connect({ settings, logger, firstConnectTimeoutMs: 30_000, seal });
  const map = await conn.client.getMap<string, string>('bench_warmup');
  const v = 'x'.repeat(4_000);
  for (let i = 0; i < (quick ? 10_000 : 30_000); i++) await map.set('w', v);
  await map.destroy();
  await (await openMap(conn, MapNames.SAFETY, safetySchema)).set(Keys.SAFETY_LATEST, { posture: 'APEX', size_scale: 1, reasons: ['bench'], ts: isoMicros() });
  return { member, settings, conn, keyFile };
}
