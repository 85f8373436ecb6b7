import path from 'node:path';
import { CoreErrors, dailyPnlSchema, featureScanSchema, formatIssues, Keys, makeError, MapNames, RingbufferNames, sealPlace, traderMapNames, traderStateSchema } from '@dolphin/core';
import { openMap, openText, sealingOf } from '@dolphin/hz';
import { clusterLedgerEntrySchema, Ledger, liveLedgerFile } from '@dolphin/ledger';
import { ClusterLedger, clusterLedgerMapName } from './cluster-ledger.ts';
import { runService } from '@dolphin/service-kit';
import { strategyParamsSchema } from '@dolphin/strategy';
import { GapFiller } from './gap-filler.ts';
import { attachTraderListeners } from './listeners.ts';
import { createTraderMetrics } from './metrics.ts';
import { EventTrader } from './trader.ts';

await runService({
  // BLUE is event-trader (as before colours); each other colour its own name and heartbeat.
  name: (config) => (config.trader.colour === 'BLUE' ? 'event-trader' : `event-trader-${config.trader.colour.toLowerCase()}`),
  async start(ctx) {
    const { config } = ctx;
    const parsed = strategyParamsSchema.safeParse(config.trader.strategy);
    if (!parsed.success) {
      throw makeError(CoreErrors.DOLPHIN_CONFIG_INVALID, `invalid configuration:\n  - ${formatIssues(parsed.error.issues).map((l) => `trader.strategy.${l}`).join('\n  - ')}`);
    }
    const params = parsed.data;
    const colour = config.trader.colour;
    const ledger = new Ledger(liveLedgerFile(config.stateDir, colour));
    ctx.register('ledger', () => ledger.close());
    const maps = traderMapNames(colour);
    // The cluster's copy of the ledger: taken first when another host's trader got further.
    const cluster = new ClusterLedger(await openMap(ctx.hz, clusterLedgerMapName(colour), clusterLedgerEntrySchema), ctx.logger);
    const adopted = await cluster.adoptInto(ledger);
    if (adopted.to > adopted.from) ctx.logger.info(adopted, `ledger brought up to the cluster's copy: scans after #${adopted.from} to #${adopted.to} (${adopted.adopted} fills, postures and gaps)`);
    const stateMap = await openMap(ctx.hz, maps.state, traderStateSchema);
    const pnlMap = await openMap(ctx.hz, maps.pnl, dailyPnlSchema);
    // History entries carry the bridge's seal for latest_eigen_scan (the same text it put there).
    const sealing = sealingOf(ctx.hz);
    const historyPlace = sealPlace(MapNames.FEATURES, Keys.LATEST_EIGEN_SCAN);
    const gaps = new GapFiller({
      scanDir: config.scans.dir,
      quarantineDir: config.bridge.quarantineDir ?? path.join(config.scans.dir, '_quarantine'),
      history: () => ctx.hz.client.getRingbuffer<string>(RingbufferNames.SCAN_HISTORY),
      openHistory: (text) => featureScanSchema.parse(JSON.parse(openText(sealing, historyPlace, text))),
      maxScanBytes: config.bridge.maxScanBytes,
      logger: ctx.logger,
    });
    const trader = new EventTrader({
      params, ledger, logger: ctx.logger, metrics: createTraderMetrics(ctx.metrics), gaps,
      maxClockSkewMs: config.security.maxClockSkewMs,
      writeState: (v) => stateMap.set(Keys.STATE_LATEST, v),
      writePnl: (day, v) => pnlMap.set(day, v),
      replicate: (c) => cluster.record(c),
    });
    ctx.register('decisions', () => trader.close());
    // Carried across a dev-mode restart: decisions have their inputs before the listeners' first read.
    ctx.registerState('input-caches', { capture: () => trader.inputCaches, restore: (v) => trader.restoreInputCaches(v) });
    const listeners = await attachTraderListeners(ctx.hz, trader);
    ctx.register('listeners', () => listeners.close());
  },
});
