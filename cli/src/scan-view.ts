import { nowEpochNs, velDiv, type FeatureScan } from '@dolphin/core';

const ms = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${((b - a) / 1e6).toFixed(2)} ms` : '?');

/** One line for a published scan: number, time, vel_div, and its latency from file to here. */
export function scanLine(s: FeatureScan, receivedNs = nowEpochNs()): string {
  const st = s.stamps ?? {};
  const vd = velDiv(s);
  return `scan #${s.scan_number} ${s.timestamp} vel_div ${vd.toFixed(4)}${vd <= -0.02 ? ' INSTABILITY' : ''}`
    + ` (bridge event→put ${ms(st.seen_ns, st.put_ns)}, file mtime→listener ${ms(st.file_ns, receivedNs)})`;
}
