import { Counter, Gauge, type Registry } from 'prom-client';

export function createDashboardMetrics(registry: Registry, streams: () => number) {
  return {
    streams: new Gauge({ name: 'dolphin_dashboard_streams', help: 'browsers connected to the event stream', registers: [registry], collect() { this.set(streams()); } }),
    dropped: new Counter({ name: 'dolphin_dashboard_streams_dropped_total', help: 'event streams ended, by why (slow: too much unsent)', labelNames: ['why'] as const, registers: [registry] }),
  };
}
