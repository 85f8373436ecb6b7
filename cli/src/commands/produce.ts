import { loadConfig, velDiv } from '@dolphin/core';
import { MAX_RATE, produceScans, replayScans, type WriteMode } from '@dolphin/scanfile';

export interface ProduceOptions {
  dir?: string;
  rate: number;
  count?: number;
  mode: WriteMode;
  format: 'file' | 'stream';
  seed: number;
  assets: number;
}

/** Stops the loop on Ctrl-C, on SIGTERM, and when a parent holding our IPC channel goes away. */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.send) process.once('disconnect', stop);
  return ac.signal;
}

export async function produce(o: ProduceOptions): Promise<number> {
  if (!(o.rate > 0 && o.rate <= MAX_RATE)) {
    console.error(`dolphin produce: --rate must be > 0 and ≤ ${MAX_RATE} (scans per second), got ${o.rate}`);
    return 2;
  }
  const scanDir = o.dir ?? loadConfig().scans.dir;
  console.log(`dolphin produce: ${o.rate} scans/s into ${scanDir} (${o.mode}, ${o.format} format, seed ${o.seed}); Ctrl-C stops`);
  let last = 0;
  let regimes = 0;
  const n = await produceScans({
    scanDir, rate: o.rate, mode: o.mode, format: o.format, seed: o.seed, assets: o.assets, signal: stopSignal(),
    ...(o.count !== undefined ? { count: o.count } : {}),
    onWrite: (scan, file) => {
      const vd = velDiv(scan);
      if (vd <= -0.02) regimes++;
      const now = Date.now();
      if (now - last >= 1_000 || o.rate <= 1) {
        last = now;
        console.log(`#${scan.scan_number} ${file} vel_div ${vd.toFixed(4)}${vd <= -0.02 ? ' (instability)' : ''}`);
      }
    },
  });
  console.log(`dolphin produce: wrote ${n} scans, ${regimes} with vel_div ≤ -0.02`);
  return 0;
}

export async function replay(from: string, o: { speed: string; dir?: string }): Promise<number> {
  const speed = o.speed === 'max' ? Number.POSITIVE_INFINITY : Number(o.speed);
  if (!(speed > 0)) {
    console.error(`dolphin replay: --speed must be a number > 0 or "max", got ${o.speed}`);
    return 2;
  }
  const scanDir = o.dir ?? loadConfig().scans.dir;
  let last = 0;
  const n = await replayScans({
    from, scanDir, speed, signal: stopSignal(),
    onSkip: (file, reason) => console.warn(`dolphin replay: skipped ${file}: ${reason}`),
    onWrite: (_scan, _file, done, total) => {
      const now = Date.now();
      if (now - last >= 1_000 || done === total) {
        last = now;
        console.log(`dolphin replay: ${done}/${total} (${Math.round((100 * done) / total)} %)`);
      }
    },
  });
  console.log(`dolphin replay: replayed ${n} scans from ${from} into ${scanDir}`);
  return 0;
}
