import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HealthStatus } from '@dolphin/core';
import type { HealthRecord } from './daemon.ts';

const STATUS_VALUE: Record<HealthStatus, number> = { GREEN: 0, DEGRADED: 1, CRITICAL: 2, DEAD: 3 };

export function createMetaHealthMetrics(registry: Registry) {
  const rm = new Gauge({ name: 'dolphin_rm_meta', help: 'rm_meta = M1·M2·M3·M4·M5 (0..1)', registers: [registry] });
  const status = new Gauge({ name: 'dolphin_health_status', help: '0 GREEN, 1 DEGRADED, 2 CRITICAL, 3 DEAD', registers: [registry] });
  const sensor = new Gauge({ name: 'dolphin_health_sensor', help: 'each of the five sensors (0..1)', labelNames: ['sensor'] as const, registers: [registry] });
  const cycle = new Histogram({ name: 'dolphin_health_cycle_seconds', help: 'one health cycle: observe, score, recover, publish', buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] });
  const recoveries = new Counter({ name: 'dolphin_recovery_restarts_total', help: 'restarts asked for by recovery', labelNames: ['target', 'reason'] as const, registers: [registry] });
  return {
    recoveries,
    observe(r: HealthRecord, seconds: number): void {
      rm.set(r.rm_meta);
      status.set(STATUS_VALUE[r.status]);
      for (const k of ['m1_proc', 'm2_heartbeat', 'm3_data_freshness', 'm4_control_plane', 'm5_coherence'] as const) sensor.set({ sensor: k }, r[k]);
      cycle.observe(seconds);
    },
  };
}
export type MetaHealthMetrics = ReturnType<typeof createMetaHealthMetrics>;
