import { execFile } from 'node:child_process';

/**
 * Tells systemd about this service (sd_notify), when systemd started it with a notify socket:
 * READY=1, STOPPING=1, WATCHDOG=1, STATUS=…. Through the systemd-notify tool (Node has no
 * datagram sockets on Unix paths); it waits until systemd has taken the message, so units say
 * NotifyAccess=all. Resolves false when there is no systemd to tell.
 */
export function sdNotify(...assignments: string[]): Promise<boolean> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('systemd-notify', assignments, { timeout: 5_000 }, (err) => resolve(err === null));
  });
}

/**
 * The service's side of systemd's watchdog (WatchdogSec=): `pet()` after each piece of work
 * that proves the service is alive; it sends WATCHDOG=1 at most twice per watchdog interval.
 */
export class Watchdog {
  readonly intervalMs: number | undefined;
  private lastPet = 0;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    this.intervalMs = env.NOTIFY_SOCKET && usec > 0 && forUs ? usec / 1000 : undefined;
  }

  get enabled(): boolean {
    return this.intervalMs !== undefined;
  }

  pet(now = Date.now()): void {
    if (this.intervalMs === undefined || now - this.lastPet < this.intervalMs / 2) return;
    this.lastPet = now;
    void sdNotify('WATCHDOG=1');
  }
}
