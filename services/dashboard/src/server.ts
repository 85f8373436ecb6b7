import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Asset } from './assets.ts';
import { SseHub } from './sse.ts';
import type { DashboardModel } from './model.ts';

export interface DashboardServerOptions {
  assets: Map<string, Asset>;
  model: DashboardModel;
  hub: SseHub;
  token?: string | undefined;
}

const COOKIE = 'dolphin_dashboard';
// The page loads nothing from elsewhere, and may not.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function presented(req: IncomingMessage, url: URL): { token: string | undefined; fromQuery: boolean } {
  const q = url.searchParams.get('token');
  if (q) return { token: q, fromQuery: true };
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { token: auth.slice(7), fromQuery: false };
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${COOKIE}=`));
  return { token: cookie ? decodeURIComponent(cookie.slice(COOKIE.length + 1)) : undefined, fromQuery: false };
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

/**
 * The dashboard's HTTP server: the page and its assets, `/events` (the live stream),
 * `/api/snapshot` (the same data once, as JSON) and `/healthz`. GET only: it changes nothing.
 */
export function createDashboardServer(o: DashboardServerOptions): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, JSON.stringify({ error: `${req.method} is not served: the dashboard is read-only` }), undefined, { allow: 'GET, HEAD' });
    }
    let setCookie: Record<string, string> = {};
    if (o.token !== undefined && url.pathname !== '/healthz') {
      const p = presented(req, url);
      if (p.token === undefined || !same(p.token, o.token)) {
        return send(res, 401, JSON.stringify({ error: p.token === undefined ? 'a token is needed: open the URL dolphin up printed (…/?token=…), or send Authorization: Bearer <token>' : 'wrong token' }));
      }
      if (p.fromQuery) setCookie = { 'set-cookie': `${COOKIE}=${encodeURIComponent(p.token)}; HttpOnly; SameSite=Strict; Path=/` };
    }
    if (url.pathname === '/events') {
      if (!o.hub.open(req, res, SseHub.frame('snapshot', o.model.snapshot()))) {
        send(res, 503, JSON.stringify({ error: 'too many dashboard streams open (dashboard.maxClients)' }), undefined, { 'retry-after': '5' });
      }
      return;
    }
    if (url.pathname === '/api/snapshot') return send(res, 200, JSON.stringify(o.model.snapshot()));
    if (url.pathname === '/healthz') return send(res, 200, JSON.stringify({ ok: true, hazelcast: o.model.connected ? 'connected' : 'disconnected', streams: o.hub.size }));
    const asset = o.assets.get(url.pathname);
    if (!asset) return send(res, 404, JSON.stringify({ error: `no such page: ${url.pathname}` }));
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { etag: asset.etag, ...SECURITY_HEADERS });
      return res.end();
    }
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, etag: asset.etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS, ...setCookie });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  });
}
