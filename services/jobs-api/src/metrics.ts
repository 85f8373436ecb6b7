import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobsDb } from './db.ts';

const STATUSES = ['pending', 'running', 'completed', 'partial', 'failed'] as const;

export function createJobsMetrics(registry: Registry, db: JobsDb) {
  new Gauge({
    name: 'dolphin_jobs', help: 'backtest jobs by status', labelNames: ['status'] as const, registers: [registry],
    collect() {
      const counts = db.countsByStatus();
      for (const status of STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  const job = new Histogram({ name: 'dolphin_job_duration_seconds', help: 'wall time of a job, by how it ended', labelNames: ['status'] as const, buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800], registers: [registry] });
  const day = new Histogram({ name: 'dolphin_model_day_duration_seconds', help: 'one model over one day', labelNames: ['status'] as const, buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry] });
  const days = new Counter({ name: 'dolphin_model_days_total', help: 'model-days run, by outcome', labelNames: ['status'] as const, registers: [registry] });
  return {
    jobDone: (status: string, seconds: number) => job.observe({ status }, seconds),
    modelDayDone: (status: 'completed' | 'failed', seconds: number) => {
      day.observe({ status }, seconds);
      days.inc({ status });
    },
  };
}
export type JobsMetrics = ReturnType<typeof createJobsMetrics>;
