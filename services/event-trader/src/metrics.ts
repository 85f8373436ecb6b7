import { Counter, Histogram, type Registry } from 'prom-client';

export interface TraderMetrics {
  decisions: Counter;
  trades: Counter<'reason'>;
  skipped: Counter<'reason'>;
  hop: Histogram<'hop'>;
}

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2];

export function createTraderMetrics(registry: Registry): TraderMetrics {
  return {
    decisions: new Counter({ name: 'dolphin_trader_decisions_total', help: 'Scans decided on', registers: [registry] }),
    trades: new Counter({ name: 'dolphin_trader_fills_total', help: 'Paper fills, by reason', labelNames: ['reason'], registers: [registry] }),
    skipped: new Counter({ name: 'dolphin_trader_scans_skipped_total', help: 'Scans not decided on: duplicate or older', labelNames: ['reason'], registers: [registry] }),
    hop: new Histogram({ name: 'dolphin_trader_latency_seconds', help: 'Per hop: file→bridge put, bridge put→listener, listener→decision', labelNames: ['hop'], buckets: BUCKETS, registers: [registry] }),
  };
}
