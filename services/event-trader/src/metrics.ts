import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface TraderMetrics {
  decisions: Counter;
  trades: Counter<'reason'>;
  skipped: Counter<'reason'>;
  refused: Counter<'reason'>;
  filled: Counter<'source'>;
  missed: Counter;
  halted: Gauge;
  hop: Histogram<'hop'>;
}

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2];

export function createTraderMetrics(registry: Registry): TraderMetrics {
  return {
    decisions: new Counter({ name: 'dolphin_trader_decisions_total', help: 'Scans decided on', registers: [registry] }),
    trades: new Counter({ name: 'dolphin_trader_fills_total', help: 'Paper fills, by reason', labelNames: ['reason'], registers: [registry] }),
    skipped: new Counter({ name: 'dolphin_trader_scans_skipped_total', help: 'Scans not decided on: duplicate or older', labelNames: ['reason'], registers: [registry] }),
    refused: new Counter({ name: 'dolphin_trader_scans_refused_total', help: 'Scans not believed, by reason (future: dated beyond the clock and security.maxClockSkewMs)', labelNames: ['reason'], registers: [registry] }),
    filled: new Counter({ name: 'dolphin_trader_scans_filled_total', help: 'Missed scans found and decided in order, by source (files, history)', labelNames: ['source'], registers: [registry] }),
    missed: new Counter({ name: 'dolphin_trader_scans_missed_total', help: 'Scans that could not be decided (found nowhere); each gap is in the ledger with its reason', registers: [registry] }),
    halted: new Gauge({ name: 'dolphin_trader_halted', help: '1 while the ledger cannot be written (disk full, read-only): nothing is decided until it can', registers: [registry] }),
    hop: new Histogram({ name: 'dolphin_trader_latency_seconds', help: 'Per hop: file→bridge put, bridge put→listener, listener→decision', labelNames: ['hop'], buckets: BUCKETS, registers: [registry] }),
  };
}
