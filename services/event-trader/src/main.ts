import path from 'node:path';
import { CoreErrors, dailyPnlSchema, featureScanSchema, formatIssues, Keys, makeError, MapNames, RingbufferNames, sealPlace, traderMapNames, traderStateSchema } from '@dolphin/core';
import { Leadership, openMap, openText, sealingOf } from '@dolphin/hz';
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
    let epoch = 0;
    const cluster = new ClusterLedger(await openMap(ctx.hz, clusterLedgerMapName(colour), clusterLedgerEntrySchema), ctx.logger, () => epoch);
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
    const metrics = createTraderMetrics(ctx.metrics);
    let leadership: Leadership | undefined;

    /** Deciding: the ledger brought up to the cluster's copy, a trader on it, its listeners. */
    const trade = async () => {
      const adopted = await cluster.adoptInto(ledger);
      if (adopted.to > adopted.from) ctx.logger.info(adopted, `ledger brought up to the cluster's copy: scans after #${adopted.from} to #${adopted.to} (${adopted.adopted} fills, postures and gaps)`);
      const trader = new EventTrader({
        params, ledger, logger: ctx.logger, metrics, gaps,
        maxClockSkewMs: config.security.maxClockSkewMs,
        writeState: (v) => stateMap.set(Keys.STATE_LATEST, v),
        writePnl: (day, v) => pnlMap.set(day, v),
        replicate: (c) => cluster.record(c),
        ...(leadership ? { fence: () => (leadership as Leadership).fence() } : {}),
      });
      const listeners = await attachTraderListeners(ctx.hz, trader);
      return { trader, async close() { await listeners.close(); await trader.close(); } };
    };

    let session: Awaited<ReturnType<typeof trade>> | undefined;
    if (!config.trader.standby) {
      session = await trade();
    } else {
      // A hot standby: connected and ready, deciding only while it holds the colour's lease.
      let turns = Promise.resolve();
      const turn = (work: () => Promise<void>) => {
        turns = turns.then(work).catch((err: unknown) => ctx.logger.error({ err }, 'leadership change could not be carried out'));
      };
      const role = `trader-${colour}`;
      leadership = new Leadership(ctx.hz, {
        role, ttlMs: config.trader.leaseTtlMs, logger: ctx.logger,
        onElected: (e) => turn(async () => {
          epoch = e;
          ctx.logger.info({ epoch: e, role }, `elected: trading ${colour} (epoch ${e})`);
          session = await trade();
        }),
        onDemoted: (reason, e) => turn(async () => {
          ctx.logger.warn({ epoch: e, reason, role }, `no longer the leader (${reason}): standing by`);
          await session?.close();
          session = undefined;
        }),
      });
      const l = leadership;
      await l.start();
      ctx.register('leadership', () => l.stop());
    }
    // Stop deciding first; then (a standby's) lease is released for the next to take over at once.
    ctx.register('decisions', async () => {
      await session?.close();
      session = undefined;
    });
    // Carried across a dev-mode restart: decisions have their inputs before the listeners' first read.
    ctx.registerState('input-caches', { capture: () => session?.trader.inputCaches ?? {}, restore: (v) => session?.trader.restoreInputCaches(v) });
  },
});
