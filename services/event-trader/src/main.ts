import path from 'node:path';
import { CoreErrors, dailyPnlSchema, formatIssues, Keys, makeError, MapNames, traderStateSchema } from '@dolphin/core';
import { openMap } from '@dolphin/hz';
import { runService } from '@dolphin/service-kit';
import { strategyParamsSchema } from '@dolphin/strategy';
import { attachTraderListeners } from './listeners.ts';
import { Ledger } from './ledger.ts';
import { createTraderMetrics } from './metrics.ts';
import { EventTrader } from './trader.ts';

await runService({
  name: 'event-trader',
  async start(ctx) {
    const parsed = strategyParamsSchema.safeParse(ctx.config.trader.strategy);
    if (!parsed.success) {
      throw makeError(CoreErrors.DOLPHIN_CONFIG_INVALID, `invalid configuration:\n  - ${formatIssues(parsed.error.issues).map((l) => `trader.strategy.${l}`).join('\n  - ')}`);
    }
    const params = parsed.data;
    const ledger = new Ledger(path.join(ctx.config.stateDir, 'event-trader.db'));
    ctx.register('ledger', () => ledger.close());
    const stateMap = await openMap(ctx.hz, MapNames.STATE_BLUE, traderStateSchema);
    const pnlMap = await openMap(ctx.hz, MapNames.PNL_BLUE, dailyPnlSchema);
    const trader = new EventTrader({
      params, ledger, logger: ctx.logger, metrics: createTraderMetrics(ctx.metrics),
      writeState: (v) => stateMap.set(Keys.STATE_LATEST, v),
      writePnl: (day, v) => pnlMap.set(day, v),
    });
    ctx.register('decisions', () => trader.idle());
    // Carried across a dev-mode restart: decisions have their inputs before the listeners' first read.
    ctx.registerState('input-caches', { capture: () => trader.inputCaches, restore: (v) => trader.restoreInputCaches(v) });
    const listeners = await attachTraderListeners(ctx.hz, trader, ctx.logger);
    ctx.register('listeners', () => listeners.close());
  },
});
