import { Counter, type Registry } from 'prom-client';
import type { Logger } from '@dolphin/core';
import type { HzConnection } from '@dolphin/hz';

/** One warning per place this often: a process writing forged values every millisecond must not flood the log. */
const WARN_EVERY_MS = 60_000;

/**
 * Counts every value this service refused because it is not Dolphin's (no MAC, or a wrong one),
 * in `dolphin_values_refused_total{place, reason}`, and says so in the log at most once a minute
 * per place, with how many since the last line.
 */
export function countRefusals(hz: Pick<HzConnection, 'events'>, registry: Registry, logger: Logger): Counter<'place' | 'reason'> {
  const counter = new Counter({
    name: 'dolphin_values_refused_total',
    help: 'Values read from the cluster and refused: not sealed with this install\'s key (forged, altered, or from another writer)',
    labelNames: ['place', 'reason'],
    registers: [registry],
  });
  const since = new Map<string, { warnedAt: number; count: number }>();
  hz.events.on('refused', ({ place, reason }) => {
    counter.inc({ place, reason });
    const now = Date.now();
    const s = since.get(place) ?? { warnedAt: 0, count: 0 };
    s.count += 1;
    if (now - s.warnedAt >= WARN_EVERY_MS) {
      logger.warn({ place, reason, refused: s.count }, `refused ${s.count} value(s) at ${place}: ${reason === 'bad-mac' ? 'the MAC does not match' : 'not sealed by Dolphin'} (something other than Dolphin wrote it)`);
      s.warnedAt = now;
      s.count = 0;
    }
    since.set(place, s);
  });
  return counter;
}
