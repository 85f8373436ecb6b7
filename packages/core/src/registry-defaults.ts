/**
 * A critical entry's restart policy (`critical: true`): each field here is its default, and any
 * field the entry sets wins. bench/recovery.ts measured why (docs/operations.md, "Restarts of
 * critical processes"): the start limit alone stops a crash loop — 5 starts, then FAILED, with the
 * same starts and CPU under a 250 ms cap as under 30 s — so the delay only adds to kill → ready. A
 * small cap keeps a killed trader back within about a second kill after kill; 10 s of running
 * (many times a start) counts as healthy again, so kills spread out each wait the initial 100 ms.
 */
export const CRITICAL_RESTART = { maxMs: 250, resetAfterMs: 10_000 } as const;

/**
 * The processes Dolphin runs, as the first layer of the configuration: config/dolphin.json,
 * its environment overlay and DOLPHIN__services__<name>__<field> change any field, add
 * entries, or switch one off (`enabled: false`). `dolphin config services` prints the result.
 * Ports are 0 (none) here; config/dolphin.json gives the fixed ones of a machine's install.
 */
export const DEFAULT_SERVICES = {
  member: {
    kind: 'member', critical: true, heartbeat: false, stopTimeoutMs: 15_000,
    // The JVM: heap (member.heapMb, 512) plus metaspace, threads and buffers.
    limits: { memoryMaxMb: 900, tasksMax: 256, cpuQuotaPct: 100 },
    readiness: { kind: 'http', timeoutMs: 60_000 },
  },
  indicators: { dependsOn: ['member'], limits: { memoryMaxMb: 256, tasksMax: 64, cpuQuotaPct: 50 } },
  safety: { dependsOn: ['member'], critical: true, limits: { memoryMaxMb: 256, tasksMax: 64, cpuQuotaPct: 50 } },
  'scan-bridge': { dependsOn: ['member'], critical: true, limits: { memoryMaxMb: 256, tasksMax: 64, cpuQuotaPct: 100 } },
  'event-trader': { dependsOn: ['member', 'safety'], critical: true, limits: { memoryMaxMb: 256, tasksMax: 64, cpuQuotaPct: 100 } },
  'meta-health': { dependsOn: ['member'], limits: { memoryMaxMb: 192, tasksMax: 64, cpuQuotaPct: 50 } },
  // Backtests run in its worker threads: more memory and every core while a job runs.
  'jobs-api': { limits: { memoryMaxMb: 512, tasksMax: 64, cpuQuotaPct: 200 } },
  // Read-only; not after the member: it shows that the member is down, and must start without it.
  dashboard: { limits: { memoryMaxMb: 192, tasksMax: 64, cpuQuotaPct: 50 } },
  // The daily batch (`dolphin daily`): yesterday's backtest through the jobs API and the paper
  // trader's day report, at 00:15 UTC plus up to 10 min (a dolphin-daily.timer in production,
  // the supervisor's own timer under dolphin up); runs to completion, never restarted.
  daily: {
    kind: 'service', main: 'cli/src/main.ts', args: ['daily'], dependsOn: ['jobs-api'], heartbeat: false,
    readiness: { kind: 'none' }, restart: { mode: 'never' },
    schedule: { calendar: '*-*-* 00:15:00 UTC', persistent: true, randomizedDelaySec: 600 },
    // It waits on HTTP and reads the ledger: the backtest itself runs in the jobs API.
    limits: { memoryMaxMb: 192, tasksMax: 32, cpuQuotaPct: 50 },
  },
} as const;
