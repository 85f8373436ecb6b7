export { DashboardModel, latencyView, decisionLatency, percentile, LATENCY_BUCKETS_MS, type SupervisedRow, type JobsListing } from './model.ts';
export { SseHub } from './sse.ts';
export { buildAssets, WEB_DIR, type Asset } from './assets.ts';
export { createDashboardServer } from './server.ts';
export type * from '../web/snapshot.ts';
