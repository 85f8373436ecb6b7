import type { AddressInfo } from 'node:net';
import { buildAssets } from '../src/assets.ts';
import { DashboardModel } from '../src/model.ts';
import { createDashboardServer, type DashboardServerOptions } from '../src/server.ts';
import { SseHub } from '../src/sse.ts';

/** A dashboard server on a free loopback port, as main.ts builds it, without the feed. `close` ends it and its streams. */
export async function serveDashboard(o: { token?: string; maxBufferedBytes?: number; maxClients?: number; logger?: DashboardServerOptions['logger'] } = {}) {
  const model = new DashboardModel({ history: 10, members: ['127.0.0.1:5701'], velDivThreshold: -0.02 });
  const drops: string[] = [];
  const hub = new SseHub({ maxBufferedBytes: o.maxBufferedBytes ?? 1 << 20, maxClients: o.maxClients ?? 10, onDrop: (why) => drops.push(why) });
  const server = createDashboardServer({ assets: buildAssets(), model, hub, token: o.token, logger: o.logger });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = () => { hub.close(); server.closeAllConnections(); server.close(); };
  return { model, hub, drops, port, url: `http://127.0.0.1:${port}`, close };
}
