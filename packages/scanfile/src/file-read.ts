import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The largest plausible scan file: 5,000 assets (ten times the NG scanner's universe) of a
 * 20-byte symbol, a price, an eigenvalue and their offsets (≈ 40 B each), 16 rows, plus Arrow's
 * metadata and padding — ≈ 3.3 MB; twice that, rounded up. A larger file is not a scan.
 */
export const DEFAULT_MAX_SCAN_BYTES = 8 * 1024 * 1024;

export type ScanFileBytes =
  | { kind: 'bytes'; bytes: Buffer; mtimeNs: number }
  /** Larger than allowed: not read at all. */
  | { kind: 'too-large'; size: number; mtimeNs: number };

/**
 * A scan file's bytes and modification time from one open file (open, fstat, read, close): one
 * system call fewer than a stat and a readFileSync, the time belongs to the bytes read, and
 * nothing is allocated before the size is checked against `maxBytes`. System errors (ENOENT,
 * EACCES, EISDIR for a folder, EINVAL for a device or FIFO) are thrown as they are.
 */
export function readScanFileBytes(file: string, maxBytes = DEFAULT_MAX_SCAN_BYTES): ScanFileBytes {
  // Non-blocking open: a FIFO named like a scan must not hang the reader.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) {
      throw Object.assign(new Error(`not a regular file (${st.isDirectory() ? 'a folder' : 'a device, FIFO or socket'})`), { code: st.isDirectory() ? 'EISDIR' : 'EINVAL' });
    }
    const size = Number(st.size);
    const mtimeNs = Number(st.mtimeNs);
    if (size > maxBytes) return { kind: 'too-large', size, mtimeNs };
    const bytes = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) break; // cut short meanwhile: what was read is judged as it is
      off += n;
    }
    return { kind: 'bytes', bytes: off === size ? bytes : bytes.subarray(0, off), mtimeNs };
  } finally {
    closeSync(fd);
  }
}
