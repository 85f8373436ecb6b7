import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createLogger, type Logger } from '@dolphin/core';
import type { Asset } from './assets.ts';
import { SseHub } from './sse.ts';
import type { DashboardModel } from './model.ts';
import { COOKIE, parseTarget, presentedToken, tokenChecker } from './request-auth.ts';

export interface DashboardServerOptions {
  assets: Map<string, Asset>;
  model: DashboardModel;
  hub: SseHub;
  token?: string | undefined;
  /** Where a request that failed inside the server is logged (default: a logger of its own on stdout). */
  logger?: Logger | undefined;
}

// The page loads nothing from elsewhere, and may not.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

/**
 * The dashboard's HTTP server: the page and its assets, `/events` (the live stream),
 * `/api/snapshot` (the same data once, as JSON) and `/healthz`. GET only: it changes nothing.
 */
export function createDashboardServer(o: DashboardServerOptions): Server {
  const logger = o.logger ?? createLogger({ service: 'dashboard' });
  const tokenOk = o.token === undefined ? undefined : tokenChecker(o.token);
  // Built once: the cookie carries the configured token, never what a request sent.
  const setCookie = o.token === undefined ? {} : { 'set-cookie': `${COOKIE}=${encodeURIComponent(o.token)}; HttpOnly; SameSite=Strict; Path=/` };
  const error = (res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}) => send(res, status, JSON.stringify({ error: message }), undefined, extra);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return error(res, 405, `${req.method} is not served: the dashboard is read-only`, { allow: 'GET, HEAD' });
    }
    const target = parseTarget(req.url ?? '/');
    if (!target.ok) return error(res, 400, target.error);
    const url = target.url;
    let cookie = {};
    if (tokenOk && url.pathname !== '/healthz') {
      const p = presentedToken(req.headers, url);
      if (p.kind === 'malformed') return error(res, 400, p.error);
      if (p.kind === 'none') return error(res, 401, 'a token is needed: open the URL dolphin up printed (…/?token=…), or send Authorization: Bearer <token>');
      if (!tokenOk(p.bytes)) return error(res, 401, 'wrong token');
      if (p.fromQuery) cookie = setCookie;
    }
    if (url.pathname === '/events') {
      // A HEAD gets the head alone: opened as a stream it would never be flushed, nor answered.
      if (req.method === 'HEAD') return send(res, 200, '', 'text/event-stream; charset=utf-8');
      if (!o.hub.open(req, res, SseHub.frame('snapshot', o.model.snapshot()))) {
        error(res, 503, 'too many dashboard streams open (dashboard.maxClients)', { 'retry-after': '5' });
      }
      return;
    }
    if (url.pathname === '/api/snapshot') return send(res, 200, JSON.stringify(o.model.snapshot()));
    if (url.pathname === '/healthz') return send(res, 200, JSON.stringify({ ok: true, hazelcast: o.model.connected ? 'connected' : 'disconnected', streams: o.hub.size }));
    const asset = o.assets.get(url.pathname);
    if (!asset) return error(res, 404, `no such page: ${url.pathname}`);
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { etag: asset.etag, ...SECURITY_HEADERS });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, etag: asset.etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS, ...cookie });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  // Nothing a request does may end the process: an exception here is this request's 500, logged.
  return createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      logger.error({ err, method: req.method, target: req.url }, 'dashboard request failed');
      try {
        if (res.headersSent) res.destroy();
        else error(res, 500, 'the dashboard failed to answer this request (logged)');
      } catch {
        res.destroy();
      }
    }
  });
}
