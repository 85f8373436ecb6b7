import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@dolphin/core';
import { healthz, rawRequest, send, type RawResponse } from './raw-http.ts';
import { serveDashboard } from './serve.ts';

// 30 characters: a presented token of 30 characters but more bytes (30 × é) used to reach
// timingSafeEqual with buffers of different lengths, which throws.
const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123';
const E_ACUTE_30 = '%C3%A9'.repeat(30);

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function serve(o: Parameters<typeof serveDashboard>[0] = { token: TOKEN }) {
  const d = await serveDashboard(o);
  closers.push(d.close);
  return d;
}

/** The answer to one raw request, which must be a JSON error; and the server must still answer /healthz after it. */
async function answer(port: number, request: Parameters<typeof rawRequest>[0]): Promise<RawResponse & { error: string }> {
  const res = await send(port, rawRequest(request));
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const { error } = JSON.parse(res.body) as { error: string };
  expect(await healthz(port)).toBe(200);
  return { ...res, error };
}

describe('dashboard request parsing: bad input is answered, never a crash', () => {
  it('a cookie that is not percent-encoded UTF-8 (%E0%A4%A): 400 naming the cookie', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: '/', headers: [['Cookie', 'dolphin_dashboard=%E0%A4%A']] });
    expect(res.status).toBe(400);
    expect(res.error).toMatch(/dolphin_dashboard cookie/);
  });

  it('a cookie of 30 × %C3%A9 (the token\'s length in characters, twice its bytes): 401 wrong token', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: '/', headers: [['Cookie', `other=1; dolphin_dashboard=${E_ACUTE_30}`]] });
    expect(res.status).toBe(401);
    expect(res.error).toBe('wrong token');
  });

  it('a cookie with bytes outside printable ASCII: 400 naming the cookie', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: '/', headers: [['Cookie', Buffer.concat([Buffer.from('dolphin_dashboard='), Buffer.alloc(30, 0xe9)])]] });
    expect(res.status).toBe(400);
    expect(res.error).toMatch(/dolphin_dashboard cookie/);
  });

  it('?token=%E0%A4%A: 400 naming ?token=', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: '/?token=%E0%A4%A' });
    expect(res.status).toBe(400);
    expect(res.error).toMatch(/\?token=/);
  });

  it('?token= with 30 × %C3%A9: 401 wrong token', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: `/api/snapshot?token=${E_ACUTE_30}` });
    expect(res.status).toBe(401);
    expect(res.error).toBe('wrong token');
  });

  it('a token of the right length in characters but not in bytes: 401, and the right token still opens', async () => {
    const { port } = await serve();
    const lookalike = `é${TOKEN.slice(1)}`;
    expect(lookalike.length).toBe(TOKEN.length);
    const res = await answer(port, { target: `/api/snapshot?token=${encodeURIComponent(lookalike)}` });
    expect(res.status).toBe(401);
    expect(res.error).toBe('wrong token');
    expect((await send(port, rawRequest({ target: `/api/snapshot?token=${TOKEN}` }))).status).toBe(200);
  });

  it('Authorization: Bearer with odd bytes (30 × 0xE9, read by Node as 30 latin-1 characters): 401', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: '/api/snapshot', headers: [['Authorization', Buffer.concat([Buffer.from('Bearer '), Buffer.alloc(30, 0xe9)])]] });
    expect(res.status).toBe(401);
    expect(res.error).toBe('wrong token');
    expect((await send(port, rawRequest({ target: '/api/snapshot', headers: [['Authorization', `Bearer ${TOKEN}`]] }))).status).toBe(200);
  });

  it('GET // is the path //, not a URL with an empty host: 401 without a token, 404 with it', async () => {
    const { port } = await serve();
    expect((await answer(port, { target: '//' })).status).toBe(401);
    const res = await answer(port, { target: `//?token=${TOKEN}` });
    expect(res.status).toBe(404);
    expect(res.error).toBe('no such page: //');
  });

  it('GET //host/api/snapshot is not routed to /api/snapshot on another host\'s say-so', async () => {
    const { port } = await serve();
    expect((await answer(port, { target: `//elsewhere/api/snapshot?token=${TOKEN}` })).status).toBe(404);
  });

  it('GET http://[ (an absolute-form target that is no URL): 400 naming the request target', async () => {
    const { port } = await serve();
    const res = await answer(port, { target: 'http://[' });
    expect(res.status).toBe(400);
    expect(res.error).toMatch(/request target/);
  });

  it('GET http://127.0.0.1:99999/ (a port out of range): 400', async () => {
    const { port } = await serve();
    expect((await answer(port, { target: 'http://127.0.0.1:99999/' })).status).toBe(400);
  });

  it('GET * (asterisk-form): 400; an absolute-form http URL is served by its path', async () => {
    const { port } = await serve();
    expect((await answer(port, { target: '*' })).status).toBe(400);
    expect((await send(port, rawRequest({ target: `http://127.0.0.1/api/snapshot?token=${TOKEN}` }))).status).toBe(200);
    expect((await answer(port, { target: `file:///api/snapshot?token=${TOKEN}` })).status).toBe(400);
  });

  it('HEAD /events (found by the fuzz test): answered with the stream\'s head and ended, not left open unanswered', async () => {
    const { port, hub } = await serve();
    const res = await send(port, rawRequest({ method: 'HEAD', target: `/events?token=${TOKEN}` }), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(hub.size).toBe(0);
  });

  it('an exception inside the handler: 500 with a JSON error, logged, and the server goes on', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ service: 'test', level: 'warn', destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } as unknown as NodeJS.WritableStream });
    const { port, model } = await serve({ logger });
    model.snapshot = () => {
      throw new Error('a snapshot that fails');
    };
    const res = await send(port, rawRequest({ target: '/api/snapshot' }));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: expect.stringMatching(/failed/) });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', method: 'GET', target: '/api/snapshot', err: expect.objectContaining({ message: 'a snapshot that fails' }) })]);
    expect(await healthz(port)).toBe(200);
  });
});
