import { z } from 'zod';

/** What the bridge last published: enough to never republish and never go backwards. */
export const positionSchema = z.strictObject({
  timestamp_ns: z.number().nonnegative(),
  scan_number: z.number().int().nonnegative(),
  /** The scan file, relative to the scan folder. */
  file: z.string(),
  file_mtime_ns: z.number().nonnegative(),
  published_at: z.string(),
});
export type Position = z.infer<typeof positionSchema>;

export type Verdict = 'publish' | 'duplicate' | 'older';

/**
 * Scans are ordered by their `timestamp_ns`, never by `scan_number`, which restarts at 1 when
 * the producer restarts. A scan is published only when it is newer than the last one published.
 */
export function judge(position: Position | undefined, scanTimestampNs: number): Verdict {
  if (position === undefined || scanTimestampNs > position.timestamp_ns) return 'publish';
  return scanTimestampNs === position.timestamp_ns ? 'duplicate' : 'older';
}

/** The later of two positions (the persisted one and what the map holds). */
export function laterPosition(a: Position | undefined, b: Position | undefined): Position | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.timestamp_ns > a.timestamp_ns ? b : a;
}

/**
 * The scan is the next one in line after the last published: its number is one more and it is
 * newer. Nothing can still come between the two, so it is published at once; any other newer
 * scan may have others arriving with it that belong before it.
 */
export function follows(position: Position | undefined, scan: { scan_number: number; timestamp_ns: number }): boolean {
  return position !== undefined && scan.scan_number === position.scan_number + 1 && scan.timestamp_ns > position.timestamp_ns;
}

/**
 * Where a bridge that takes over goes on from: the scan last published (by another host's
 * bridge). Its file time is the mtime stamp it carries; without one, 0 (every file of the
 * look-back is a candidate, and the timestamp order drops what was published).
 */
export function positionOfPublished(p: { timestamp_ns: number; scan_number: number; file: string; bridge_ts: string; stamps?: Record<string, number> }): Position {
  return { timestamp_ns: p.timestamp_ns, scan_number: p.scan_number, file: p.file, file_mtime_ns: p.stamps?.file_ns ?? 0, published_at: p.bridge_ts };
}
