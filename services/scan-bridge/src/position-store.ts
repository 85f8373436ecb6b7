import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '@dolphin/core';
import { positionSchema, type Position } from './scan-order.ts';

/** Two slots, written in turn: a write cut short by a power loss leaves the other one whole. */
const SLOT_BYTES = 1024;
const FILE_NAME = 'scan-bridge.position';
/** What earlier versions wrote (whole-file JSON, at most every 250 ms): read once if no slots exist yet. */
const LEGACY_NAME = 'scan-bridge.position.json';

/** What the file holds: the last scan published, and the one being published when it was written. */
export interface StoredPosition {
  position: Position | undefined;
  /** Written before its put: whether that put landed is not known from here. */
  pending: Position | undefined;
}

/**
 * The bridge's last published position, the only place it comes from at start (never the map,
 * which any local process can write). Written around every publish, in place: the scan about to
 * be put (`pending`), then, once put, as the position — each one pwrite of a 1 KB slot into the
 * page cache (a few µs, no rename, so no wait on the journal), alternating between two slots
 * that each carry a sequence number and a CRC. A process killed at any point leaves the last
 * complete write; a power loss can lose the writes the kernel had not flushed.
 */
export class PositionStore {
  readonly file: string;
  private readonly legacy: string;
  private fd: number | undefined;
  private seq = 0;
  private readonly slot = Buffer.alloc(SLOT_BYTES);

  constructor(stateDir: string) {
    this.file = path.join(stateDir, FILE_NAME);
    this.legacy = path.join(stateDir, LEGACY_NAME);
  }

  /** The newer whole slot, or the legacy file, or nothing (a first start). */
  load(logger: Logger): StoredPosition {
    if (!existsSync(this.file)) {
      this.last = this.loadLegacy(logger);
      return { position: this.last, pending: undefined };
    }
    const fd = openSync(this.file, 'r');
    try {
      const size = Math.min(fstatSync(fd).size, 2 * SLOT_BYTES);
      const bytes = Buffer.alloc(size);
      readSync(fd, bytes, 0, size, 0);
      let best: SlotRecord | undefined;
      let torn = 0;
      for (let i = 0; i * SLOT_BYTES < size; i++) {
        const slot = bytes.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES);
        const rec = parseSlot(slot);
        if (rec === undefined) torn += slot.some((b) => b !== 0) ? 1 : 0; // a slot never written is a hole of zeros
        else if (!best || rec.seq > best.seq) best = rec;
      }
      if (best === undefined) {
        logger.warn({ file: this.file }, 'bridge position file unreadable (both slots): starting as on a first start, with the newest scan');
        return { position: undefined, pending: undefined };
      }
      if (torn > 0) logger.warn({ file: this.file, seq: best.seq }, 'one bridge position slot was cut short; using the other');
      this.seq = best.seq;
      this.last = best.p;
      return { position: best.p, pending: best.pending };
    } finally {
      closeSync(fd);
    }
  }

  private loadLegacy(logger: Logger): Position | undefined {
    if (!existsSync(this.legacy)) return undefined;
    try {
      const p = positionSchema.safeParse(JSON.parse(readFileSync(this.legacy, 'utf8')));
      if (p.success) return p.data;
    } catch { /* reported below */ }
    logger.warn({ file: this.legacy }, 'legacy bridge position file unreadable; starting as on a first start');
    return undefined;
  }

  /** Records `p` as published (synchronously: a few µs). Throws on an I/O error; the caller says so. */
  save(p: Position): void {
    this.write({ p: this.last = p });
  }

  /** Records that `next` is about to be put, after `last` (the published position stays as it was). */
  savePending(next: Position): void {
    this.write({ p: this.last, pending: next });
  }

  private last: Position | undefined;

  private write(rec: { p: Position | undefined; pending?: Position }): void {
    if (this.fd === undefined) {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
      this.fd = openSync(this.file, constants.O_RDWR | constants.O_CREAT, 0o640);
    }
    this.seq += 1;
    let body = JSON.stringify({ seq: this.seq, ...rec });
    // A very long file name must not break the slot: the position needs times, not the name.
    if (Buffer.byteLength(body) > SLOT_BYTES - 16) body = JSON.stringify({ seq: this.seq, p: shortName(rec.p), pending: shortName(rec.pending) });
    const line = `${body}\t${crc32(body).toString(16).padStart(8, '0')}\n`;
    this.slot.fill(0x20);
    const n = this.slot.write(line, 0, 'utf8');
    if (n < Buffer.byteLength(line)) throw new Error(`bridge position does not fit a ${SLOT_BYTES}-byte slot`);
    writeSync(this.fd, this.slot, 0, SLOT_BYTES, (this.seq % 2) * SLOT_BYTES);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const shortName = (p: Position | undefined) => (p ? { ...p, file: path.basename(p.file).slice(0, 200) } : undefined);

interface SlotRecord {
  seq: number;
  p: Position | undefined;
  pending: Position | undefined;
}

function parseSlot(bytes: Buffer): SlotRecord | undefined {
  const text = bytes.toString('utf8');
  const nl = text.indexOf('\n');
  const tab = text.lastIndexOf('\t', nl);
  if (nl < 0 || tab < 0) return undefined;
  const body = text.slice(0, tab);
  if (crc32(body).toString(16).padStart(8, '0') !== text.slice(tab + 1, nl)) return undefined;
  try {
    const rec = JSON.parse(body) as { seq?: unknown; p?: unknown; pending?: unknown };
    const p = positionSchema.optional().safeParse(rec.p);
    const pending = positionSchema.optional().safeParse(rec.pending);
    return typeof rec.seq === 'number' && p.success && pending.success ? { seq: rec.seq, p: p.data, pending: pending.data } : undefined;
  } catch {
    return undefined;
  }
}
