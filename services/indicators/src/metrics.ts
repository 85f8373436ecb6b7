import { Counter, Gauge, type Registry } from 'prom-client';

export interface IndicatorMetrics {
  fetches: Counter<'indicator' | 'outcome'>;
  breakerOpen: Gauge<'indicator'>;
  lastSuccess: Gauge<'indicator'>;
  publishes: Counter<'key'>;
}

export function createIndicatorMetrics(registry: Registry): IndicatorMetrics {
  return {
    fetches: new Counter({ name: 'dolphin_indicator_fetches_total', help: 'Scheduled refreshes by outcome (ok, failed, skipped: breaker open)', labelNames: ['indicator', 'outcome'], registers: [registry] }),
    breakerOpen: new Gauge({ name: 'dolphin_indicator_breaker_open', help: '1 while the indicator\'s circuit breaker is open or half-open', labelNames: ['indicator'], registers: [registry] }),
    lastSuccess: new Gauge({ name: 'dolphin_indicator_last_success_timestamp_seconds', help: 'When the indicator was last refreshed', labelNames: ['indicator'], registers: [registry] }),
    publishes: new Counter({ name: 'dolphin_indicator_publishes_total', help: 'Values written to DOLPHIN_FEATURES by key', labelNames: ['key'], registers: [registry] }),
  };
}
