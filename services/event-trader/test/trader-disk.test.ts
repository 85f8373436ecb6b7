import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScanRecord } from '@dolphin/core';
import { ScanGenerator } from '@dolphin/scanfile';
import { spawnCollecting, waitFor } from '@dolphin/test-support';
import { traderRig, type TraderRig } from './rig.ts';

// The disk under the trader's state folder fills up, or is read-only, while scans keep coming.
// The traders run in a mount namespace of the test's own with a small tmpfs on their state folder
// (so the machine's disks are never filled); the test reaches it through /proc/<pid>/root.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let rig: TraderRig | undefined;
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rig?.cleanup();
});

const readlinkOr = (p: string) => {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
};
const has = (cmd: string) => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((d) => existsSync(path.join(d, cmd)));
const CAN_MOUNT = process.getuid?.() === 0 && has('unshare') && has('nsenter') && has('mount');
if (!CAN_MOUNT) console.warn('trader-disk.test.ts: not run here: it needs root (and unshare, nsenter, mount) to give the trader a tmpfs in a mount namespace of its own');

describe('event-trader: a ledger that cannot be written', () => {
  it.runIf(CAN_MOUNT)('disk full, then read-only: says so plainly, halts (DEGRADED), and once writable decides every scan written meanwhile', async () => {
    const r = (rig = await traderRig('trader-disk'));
    await r.setSafety();
    const { root, scanDir } = r;
    const stateDir = path.join(root, 'trader');
    mkdirSync(stateDir);
    // A process holding a mount namespace of the test's own, with the tmpfs: it outlives the
    // traders started in it (nsenter execs, so each trader keeps its pid); killing it takes the
    // namespace and the mount with it.
    const holder = spawnCollecting('unshare', ['--mount', '--propagation', 'private', '--', 'sleep', '3600'], { PATH: process.env.PATH });
    cleanups.push(() => holder.cleanup());
    await waitFor(() => readlinkOr(`/proc/${holder.child.pid}/ns/mnt`) !== readlinkOr('/proc/self/ns/mnt'), 'the namespace');
    const inNs = (...args: string[]) => execFileSync('nsenter', ['-t', String(holder.child.pid), '-m', '--', ...args]);
    inNs('mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0750', 'dolphin-test-ledger', stateDir);
    const startTrader = () => r.startTrader({ stateDir, prefix: ['nsenter', '-t', String(holder.child.pid), '-m', '--'] });
    let trader = await startTrader();
    const inside = (p: string) => path.join(`/proc/${holder.child.pid}/root`, p);
    const state = () => r.state();

    const gen = new ScanGenerator({ seed: 17 });
    const rows: ScanRecord[] = [];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const row = gen.next(Date.now() * 1e6);
        rows.push(row);
        r.put(row);
        await new Promise((res) => setTimeout(res, 25));
      }
    };
    await write(10);
    await waitFor(async () => (await state())?.last_scan_number === rows.at(-1)!.scan_number, 'the first ten decided');

    // Disk full: the rest of the tmpfs taken by a filler.
    const filler = inside(path.join(stateDir, 'filler'));
    const fd = openSync(filler, 'w');
    try {
      const mb = Buffer.alloc(1 << 20);
      for (;;) writeSync(fd, mb);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
    await write(20);
    const halted = await trader.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('trading halted'), 'the halt');
    expect(halted.code).toBe('DOLPHIN_TRADER_LEDGER_FULL');
    expect(halted.msg).toMatch(/disk full \(ENOSPC\)/);
    await waitFor(async () => (await state())?.halted?.code === 'DOLPHIN_TRADER_LEDGER_FULL', 'STATE_BLUE to say halted');
    expect(trader.logs.some((l) => JSON.stringify(l).includes('cannot rollback'))).toBe(false);

    rmSync(filler);
    await waitFor(async () => {
      const s = await state();
      return s?.last_scan_number === rows.at(-1)!.scan_number && s.halted === undefined;
    }, 'every scan written while the disk was full decided, and the halt lifted', 30_000);
    expect((await state())?.scans_decided).toBe(30);

    // Read-only: a trader started on a ledger it cannot write starts anyway, says why, and catches up once it can.
    process.kill(trader.child.pid as number, 'SIGTERM');
    expect((await trader.exited).code).toBe(0);
    inNs('mount', '-o', 'remount,ro', stateDir);
    trader = await startTrader();
    await waitFor(async () => (await state())?.halted?.code === 'DOLPHIN_TRADER_LEDGER_READONLY', 'STATE_BLUE to say read-only');
    expect((await state())?.halted?.reason).toMatch(/read-only/);
    await write(10);
    inNs('mount', '-o', 'remount,rw', stateDir);
    await waitFor(async () => {
      const s = await state();
      return s?.last_scan_number === rows.at(-1)!.scan_number && s.halted === undefined;
    }, 'every scan written while read-only decided', 30_000);
    const final = await state();
    expect(final?.scans_decided).toBe(40);
    expect(final?.scans_missed).toBe(0);
    process.kill(trader.child.pid as number, 'SIGTERM');
    expect((await trader.exited).code).toBe(0);
  });
});
