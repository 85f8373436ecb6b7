import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ModelDayOutcome, ModelDayTask } from './model-day-task.ts';

const WORKER = new URL('./model-day-worker.ts', import.meta.url);

interface Pending {
  id: number;
  task: ModelDayTask;
  resolve: (r: { outcome: ModelDayOutcome; ms: number }) => void;
}

/**
 * Model-days in worker threads, at most `size` at once (default: one per core). A worker that
 * dies takes only its own task with it (that model-day fails) and is replaced.
 */
export class WorkerPool {
  readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size = os.availableParallelism()) {
    this.size = Math.max(1, size);
  }

  run(task: ModelDayTask): Promise<{ outcome: ModelDayOutcome; ms: number }> {
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, task, resolve });
      this.pump();
    });
  }

  private spawn(): Worker {
    const w = new Worker(WORKER);
    w.on('message', (m: { id: number; outcome: ModelDayOutcome; ms: number }) => {
      const p = this.busy.get(w);
      this.busy.delete(w);
      if (p && p.id === m.id) p.resolve({ outcome: m.outcome, ms: m.ms });
      this.idle.push(w);
      this.pump();
    });
    w.on('error', (err) => this.lost(w, `worker thread failed: ${err.message}`));
    w.on('exit', (code) => { if (!this.closed) this.lost(w, `worker thread exited (${code})`); });
    return w;
  }

  private lost(w: Worker, why: string): void {
    const p = this.busy.get(w);
    this.busy.delete(w);
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    p?.resolve({ outcome: { ok: false, error: why }, ms: 0 });
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0) {
      let w = this.idle.pop();
      if (!w) {
        if (this.busy.size + this.idle.length >= this.size) return;
        w = this.spawn();
      }
      const p = this.queue.shift() as Pending;
      this.busy.set(w, p);
      w.postMessage({ id: p.id, task: p.task });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy.keys()];
    for (const p of this.busy.values()) p.resolve({ outcome: { ok: false, error: 'stopped' }, ms: 0 });
    this.busy.clear();
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }
}
