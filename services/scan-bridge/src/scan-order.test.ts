import { describe, expect, it } from 'vitest';
import { follows, judge, laterPosition, positionOfPublished, type Position } from './scan-order.ts';

const at = (ts: number, n = 1): Position => ({ timestamp_ns: ts, scan_number: n, file: `f${ts}`, file_mtime_ns: ts, published_at: '' });

describe('scan order', () => {
  it('publishes the first scan and every newer one', () => {
    expect(judge(undefined, 5)).toBe('publish');
    expect(judge(at(5), 6)).toBe('publish');
  });

  it('never republishes and never goes backwards', () => {
    expect(judge(at(5), 5)).toBe('duplicate');
    expect(judge(at(5), 4)).toBe('older');
  });

  it('orders by time, not by scan_number (which restarts at 1 with the producer)', () => {
    expect(judge(at(5, 9_000), 6)).toBe('publish');
    expect(judge(at(6, 1), 5)).toBe('older');
  });

  it('takes the later of two positions', () => {
    expect(laterPosition(at(3), at(7))?.timestamp_ns).toBe(7);
    expect(laterPosition(at(7), at(3))?.timestamp_ns).toBe(7);
    expect(laterPosition(undefined, at(3))?.timestamp_ns).toBe(3);
    expect(laterPosition(at(3), undefined)?.timestamp_ns).toBe(3);
  });

  it('a scan follows the last published when its number is one more and it is newer', () => {
    expect(follows(at(5, 9), { scan_number: 10, timestamp_ns: 6 })).toBe(true);
    expect(follows(at(5, 9), { scan_number: 11, timestamp_ns: 6 })).toBe(false); // one may be missing
    expect(follows(at(5, 9), { scan_number: 1, timestamp_ns: 6 })).toBe(false); // a producer restart
    expect(follows(at(5, 9), { scan_number: 10, timestamp_ns: 5 })).toBe(false);
    expect(follows(undefined, { scan_number: 1, timestamp_ns: 1 })).toBe(false);
  });
});

describe('positionOfPublished', () => {
  it('the published scan as a position: its time, number, file, file time (0 when it carries none)', () => {
    const p = { timestamp_ns: 5e18, scan_number: 7, file: '2026-12-03/scan_7.arrow', bridge_ts: '2026-12-03T00:00:00.000000Z' };
    expect(positionOfPublished({ ...p, stamps: { file_ns: 4e18 } })).toEqual({ timestamp_ns: 5e18, scan_number: 7, file: p.file, file_mtime_ns: 4e18, published_at: p.bridge_ts });
    expect(positionOfPublished(p).file_mtime_ns).toBe(0);
  });
});
