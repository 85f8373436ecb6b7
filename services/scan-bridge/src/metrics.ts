import { Counter, Histogram, type Registry } from 'prom-client';

export interface BridgeMetrics {
  published: Counter;
  quarantined: Counter<'code'>;
  skipped: Counter<'reason'>;
  incomplete: Counter;
  bursts: Counter;
  lateToHistory: Counter;
  latency: Histogram<'hop'>;
}

// Sub-millisecond buckets: the budget for file → put is well under a millisecond.
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2, 10];

export function createBridgeMetrics(registry: Registry): BridgeMetrics {
  return {
    published: new Counter({ name: 'dolphin_bridge_scans_published_total', help: 'Scans published to latest_eigen_scan', registers: [registry] }),
    quarantined: new Counter({ name: 'dolphin_bridge_files_quarantined_total', help: 'Scan files moved to quarantine, by error code', labelNames: ['code'], registers: [registry] }),
    skipped: new Counter({ name: 'dolphin_bridge_scans_skipped_total', help: 'Scans not published: duplicate or older than the last published', labelNames: ['reason'], registers: [registry] }),
    incomplete: new Counter({ name: 'dolphin_bridge_incomplete_reads_total', help: 'Reads of a file not yet complete (retried on its next change)', registers: [registry] }),
    bursts: new Counter({ name: 'dolphin_bridge_bursts_ordered_total', help: 'Groups of files that arrived together and were published in time order', registers: [registry] }),
    lateToHistory: new Counter({ name: 'dolphin_bridge_late_scans_to_history_total', help: 'Scans older than the last published, added to the scan history (not to the map)', registers: [registry] }),
    latency: new Histogram({ name: 'dolphin_bridge_latency_seconds', help: 'Latency per hop: file (mtime) → put done, event seen → put done', labelNames: ['hop'], buckets: LATENCY_BUCKETS, registers: [registry] }),
  };
}
