import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * A process's output in `<file>`, rotated by size: past `maxBytes` the file becomes `<file>.1`
 * (`.1` becomes `.2`, …, keeping `keep` of them) and a new one is started. The supervisor reads
 * the child's pipes and writes here, so a rotation never loses a line the child wrote.
 */
export class RotatingLog {
  readonly file: string;
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(file: string, maxBytes: number, keep: number) {
    this.file = file;
    this.maxBytes = maxBytes;
    this.keep = keep;
    mkdirSync(path.dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
  }

  /** A line from the supervisor itself, marked as such. */
  note(line: string): void {
    this.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'supervisor', msg: line })}\n`);
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.keep === 0) {
      rmSync(this.file, { force: true });
    } else {
      rmSync(`${this.file}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      renameSync(this.file, `${this.file}.1`);
    }
    this.fd = openSync(this.file, 'a');
    this.size = 0;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch { /* closed */ }
  }
}
