import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripTypes } from '@dolphin/core';

export const WEB_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../web');

export interface Asset {
  /** The URL path it is served at, e.g. /assets/app.js. */
  route: string;
  type: string;
  body: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The page's files, built from web/: TypeScript has its types stripped (Node's own
 * stripTypeScriptTypes: the page's code is the erasable subset) and its `.ts` imports pointed at
 * the `.js` it is served as; everything is held in memory with an ETag. Nothing comes from
 * elsewhere: the page works offline. A file that does not build stops the start, naming it.
 */
export function buildAssets(dir = WEB_DIR): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const ext = path.extname(name);
    if (name === 'tsconfig.json') continue;
    let body: Buffer;
    let served = name;
    if (ext === '.ts') {
      const source = readFileSync(file, 'utf8');
      let js: string;
      try {
        js = stripTypes(source, name);
      } catch (err) {
        throw new Error(`dashboard asset ${file} does not build: ${(err as Error).message}`, { cause: err });
      }
      js = js.replace(/(from\s+['"]\.\/[^'"]+)\.ts(['"])/g, '$1.js$2').replace(/(import\s*\(\s*['"]\.\/[^'"]+)\.ts(['"])/g, '$1.js$2');
      body = Buffer.from(js);
      served = `${name.slice(0, -3)}.js`;
    } else if (TYPES[ext]) {
      body = readFileSync(file);
    } else {
      continue;
    }
    const route = served === 'index.html' ? '/' : `/assets/${served}`;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    out.set(route, { route, type: TYPES[path.extname(served)] as string, body, etag });
  }
  if (!out.has('/')) throw new Error(`dashboard assets: ${path.join(dir, 'index.html')} is missing`);
  return out;
}
