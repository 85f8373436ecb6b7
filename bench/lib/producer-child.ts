// A scan producer in its own process for the benchmarks: writes scans at a steady rate with
// write-then-rename and reports, for each file, the epoch ns right after its rename.
//   node producer-child.ts '{"dir": "...", "rate": 100, "count": 1000, "seed": 1}'
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { nowEpochNs } from '@dolphin/core';
import { ScanEncoder, scanFilePath, ScanGenerator, tempPathFor } from '@dolphin/scanfile';

const { dir, rate, count, seed } = JSON.parse(process.argv[2] as string) as { dir: string; rate: number; count: number; seed: number };
const gen = new ScanGenerator({ seed });
const encoder = new ScanEncoder();
let madeDir = '';
const intervalMs = 1_000 / rate;
let batch: Array<[string, number]> = [];
const flush = () => {
  if (batch.length > 0) process.send?.({ type: 'renamed', batch });
  batch = [];
};
const flusher = setInterval(flush, 100);
const start = performance.now();
for (let i = 0; i < count; i++) {
  const wait = start + i * intervalMs - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const ns = nowEpochNs();
  const scan = gen.next(ns);
  const file = scanFilePath(dir, scan.scan_number, ns);
  const tmp = tempPathFor(file);
  if (path.dirname(file) !== madeDir) mkdirSync((madeDir = path.dirname(file)), { recursive: true });
  writeFileSync(tmp, encoder.encode(scan));
  renameSync(tmp, file);
  batch.push([path.relative(dir, file), nowEpochNs()]);
}
clearInterval(flusher);
flush();
process.send?.({ type: 'done' }, () => process.exit(0));
