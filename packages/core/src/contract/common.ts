import { z } from 'zod';

/** ISO-8601 timestamp with a zone (Dolphin writes UTC with microseconds; readers accept any precision). */
export const isoTimestamp = z.iso.datetime({ offset: true });

/** A finite number in [0, 1]: sensor scores, size scales. */
export const unitInterval = z.number().min(0).max(1);

/** Epoch nanoseconds as a JSON number (float64: exact to 256 ns, plenty for latency). */
export const epochNs = z.number().nonnegative();

export const postureSchema = z.enum(['APEX', 'STALKER', 'TURTLE', 'HIBERNATE']);
export type Posture = z.infer<typeof postureSchema>;

export const lifecycleStateSchema = z.enum(['idle', 'starting', 'running', 'stopping', 'stopped', 'failed']);
export type LifecycleState = z.infer<typeof lifecycleStateSchema>;

export const healthStatusSchema = z.enum(['GREEN', 'DEGRADED', 'CRITICAL', 'DEAD']);
export type HealthStatus = z.infer<typeof healthStatusSchema>;
