// apache-arrow on untrusted bytes, in a thread of its own so that its caller can give up on it
// (ScanDecoder): one file at a time, rows or why not.
import { parentPort } from 'node:worker_threads';
import { arrowRows } from './read.ts';

parentPort?.on('message', (m: { id: number; bytes: Uint8Array }) => {
  const r = arrowRows(m.bytes);
  parentPort?.postMessage({ id: m.id, ...r });
});
