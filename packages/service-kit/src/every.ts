/**
 * Runs `task` now and then `everyMs` after each run ends (runs never overlap, a slow one
 * pushes the next back) until `signal` aborts. Resolves once the loop has ended.
 */
export async function every(everyMs: number, signal: AbortSignal, task: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    await task();
    if (signal.aborted) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, everyMs);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
