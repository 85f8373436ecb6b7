import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseHubOptions {
  /** A client with more unsent bytes than this is dropped: its browser reconnects and gets a fresh snapshot. */
  maxBufferedBytes: number;
  maxClients: number;
  /** A comment line this often keeps proxies and idle sockets from closing the stream. */
  keepAliveMs?: number;
  onDrop?: (why: 'slow' | 'closed') => void;
}

/** Server-Sent Events to many browsers: one encoded frame per broadcast, written to each. */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly o: SseHubOptions;

  constructor(o: SseHubOptions) {
    this.o = o;
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), o.keepAliveMs ?? 15_000);
    this.keepAlive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  static frame(event: string, data: unknown): string {
    return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  /** Opens a stream; `first` is written before any broadcast reaches it. False when full. */
  open(req: IncomingMessage, res: ServerResponse, first: string): boolean {
    if (this.clients.size >= this.o.maxClients) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n\n${first}`);
    this.clients.add(res);
    const gone = () => {
      if (this.clients.delete(res)) this.o.onDrop?.('closed');
    };
    req.on('close', gone);
    res.on('error', gone);
    return true;
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(SseHub.frame(event, data));
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const res of this.clients) res.destroy();
    this.clients.clear();
  }

  private write(frame: string): void {
    for (const res of this.clients) {
      // A stalled reader must not make the dashboard hold its backlog: cut it loose.
      if (res.writableLength > this.o.maxBufferedBytes) {
        this.clients.delete(res);
        res.destroy();
        this.o.onDrop?.('slow');
        continue;
      }
      res.write(frame);
    }
  }
}
