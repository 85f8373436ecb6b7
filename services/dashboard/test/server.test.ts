import { mkdtempSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAssets } from '../src/assets.ts';
import { serveDashboard } from './serve.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function serve(o: Parameters<typeof serveDashboard>[0] = {}) {
  const d = await serveDashboard(o);
  closers.push(d.close);
  return d;
}

/** An event stream read as it comes: each `event:`/`data:` pair parsed. */
function stream(url: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; events: Array<{ event: string; data: unknown }> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const events: Array<{ event: string; data: unknown }> = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      });
      closers.push(() => req.destroy());
      resolve({ res, events });
    });
    req.on('error', reject);
    req.end();
  });
}

const until = async (what: () => boolean, label: string) => {
  for (let i = 0; i < 200; i++) {
    if (what()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${label}`);
};

describe('dashboard assets', () => {
  it('builds the page from web/: types stripped, .ts imports served as .js, nothing from elsewhere', () => {
    const assets = buildAssets();
    const app = assets.get('/assets/app.js')?.body.toString() ?? '';
    expect(app).toContain("from './charts.js'");
    expect(app).not.toMatch(/: Snapshot \| undefined|import type/);
    expect(assets.get('/assets/charts.js')?.type).toMatch(/javascript/);
    const html = assets.get('/')?.body.toString() ?? '';
    expect(html).toContain('/assets/app.js');
    // Every URL the page names is its own.
    for (const a of assets.values()) expect(a.body.toString()).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  });

  it('names a page file that does not build', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-web-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(path.join(dir, 'bad.ts'), 'enum Side { A }\n');
    expect(() => buildAssets(dir)).toThrow(/bad\.ts does not build/);
  });
});

describe('dashboard server', () => {
  it('serves the page with a CSP that forbids other origins, and refuses writes', async () => {
    const { url } = await serve();
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const etag = page.headers.get('etag') as string;
    expect((await fetch(`${url}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${url}/api/snapshot`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const snap = (await (await fetch(`${url}/api/snapshot`)).json()) as { link: { connected: boolean }; scan: { threshold: number } };
    expect(snap).toMatchObject({ link: { connected: false }, scan: { threshold: -0.02 } });
  });

  it('with a token: 401 without it, a cookie from ?token= that then opens the stream', async () => {
    const token = 'a-token-of-enough-length';
    const { url } = await serve({ token });
    expect((await fetch(`${url}/`)).status).toBe(401);
    expect((await fetch(`${url}/?token=wrong-token-wrong-token`)).status).toBe(401);
    const ok = await fetch(`${url}/?token=${token}`);
    expect(ok.status).toBe(200);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie).toMatch(/^dolphin_dashboard=/);
    expect((await fetch(`${url}/api/snapshot`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const s = await stream(`${url}/events`, { cookie });
    expect(s.res.statusCode).toBe(200);
    await until(() => s.events.length > 0, 'the snapshot');
    expect(s.events[0]?.event).toBe('snapshot');
  });

  it('streams a snapshot, then patches as the model changes', async () => {
    const { url, model, hub } = await serve();
    const s = await stream(`${url}/events`);
    await until(() => s.events.length === 1, 'the snapshot');
    model.setLink(true);
    for (const p of model.takePatches()) hub.broadcast('patch', p);
    await until(() => s.events.length === 2, 'the patch');
    expect(s.events[1]).toEqual({ event: 'patch', data: { topic: 'link', value: expect.objectContaining({ connected: true }) } });
  });

  it('drops a client that does not read instead of holding its backlog, and refuses streams past the limit', async () => {
    const { url, hub, drops } = await serve({ maxBufferedBytes: 64 * 1024, maxClients: 2 });
    const stalled = await stream(`${url}/events`);
    stalled.res.pause();
    const reading = await stream(`${url}/events`);
    await until(() => hub.size === 2, 'two streams');
    expect((await fetch(`${url}/events`)).status).toBe(503);
    const big = { blob: 'x'.repeat(32 * 1024) };
    for (let i = 0; i < 200 && drops.length === 0; i++) {
      hub.broadcast('patch', big);
      await new Promise((r) => setImmediate(r));
    }
    expect(drops).toEqual(['slow']);
    expect(hub.size).toBe(1);
    await until(() => reading.events.length > 10, 'the reading client still served');
  });
});
