import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICES, REPO_ROOT, type ServiceRegistry } from '@dolphin/core';
import { ControlClient, DevReloader, type ProcessStatus } from '@dolphin/supervisor';
import { startTestSupervisor, testLogger, waitFor, type TestSupervisor } from '@dolphin/test-support';

// Scheduled entries under the supervisor (`dolphin up`): real child processes run at a calendar
// time, persistent across supervisor restarts through the record in the state folder.

const running: TestSupervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const scratch = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'dolphin-sched-')), 'runs');
const runs = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
const DAY_MS = 86_400_000;
/** A daily calendar at the UTC time of day of `ms`. */
const calendarAt = (ms: number) => `*-*-* ${new Date(ms).toISOString().slice(11, 19)} UTC`;

/** A scheduled command: appends a line to `file`, then exits with `code`. */
function job(file: string, calendar: string, more: Record<string, unknown> = {}, code = 0) {
  return {
    kind: 'command', command: [process.execPath, '-e', "require('node:fs').appendFileSync(process.argv[1], 'ran\\n'); process.exit(Number(process.argv[2]))", file, String(code)],
    readiness: { kind: 'none' }, heartbeat: false, schedule: { calendar, persistent: true, randomizedDelaySec: 0 }, ...more,
  };
}

async function start(registry: Record<string, unknown>, options: Parameters<typeof startTestSupervisor>[1] = {}): Promise<TestSupervisor> {
  const s = await startTestSupervisor(registry, options);
  running.push(s);
  await s.supervisor.startAll();
  return s;
}

const statusOf = (s: TestSupervisor, name: string) => s.supervisor.status().services.find((p) => p.name === name) as ProcessStatus;

describe('scheduled entries under the supervisor', () => {
  it('is not started at boot; runs at its time, once; then waits for the next day, its exit on record', async () => {
    const file = scratch();
    const at = Math.ceil((Date.now() + 3_000) / 1000) * 1000;
    const s = await start({ daily: job(file, calendarAt(at)), keeper: { kind: 'command', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], readiness: { kind: 'none' } } });
    // Through the control endpoint, as dolphin status and meta-health read it.
    const before = (await ControlClient.fromRunFile(s.runFile)!.status()).services.find((p) => p.name === 'daily') as ProcessStatus;
    expect(before.state).toBe('scheduled');
    expect(before.pid).toBeUndefined();
    expect(before.schedule).toMatchObject({ calendar: calendarAt(at), persistent: true, randomizedDelaySec: 0, nextRunAt: new Date(at).toISOString() });
    expect(before.detail).toMatch(/next run/);
    expect(runs(file)).toEqual([]);
    expect(statusOf(s, 'keeper').state).toBe('running');

    await waitFor(() => runs(file).length === 1 && statusOf(s, 'daily').state === 'scheduled', 'the run, and back to scheduled', 20_000);
    const after = statusOf(s, 'daily');
    expect(after.lastExit).toMatchObject({ code: 0 });
    expect(after.schedule?.lastTriggerAt).toBe(new Date(at).toISOString());
    expect(after.schedule?.nextRunAt).toBe(new Date(at + DAY_MS).toISOString());
    expect(after.restarts).toBe(0);
    await sleep(1_500);
    expect(runs(file)).toHaveLength(1); // exited 0: not started again
    // The record a later supervisor reads (persistent).
    const record = JSON.parse(readFileSync(path.join(s.stateDir, 'schedule', 'daily.json'), 'utf8')) as { lastTriggerAt: string; lastExit: { code: number } };
    expect(record).toMatchObject({ lastTriggerAt: new Date(at).toISOString(), lastExit: { code: 0 } });
  });

  it('a run that fails is not restarted: it waits for its next time, the failure shown', async () => {
    const file = scratch();
    const at = Math.ceil((Date.now() + 2_000) / 1000) * 1000;
    const s = await start({ daily: job(file, calendarAt(at), {}, 3) });
    await waitFor(() => statusOf(s, 'daily').lastExit?.code === 3, 'the failed run', 20_000);
    await sleep(1_500);
    expect(runs(file)).toHaveLength(1);
    const p = statusOf(s, 'daily');
    expect(p.state).toBe('scheduled');
    expect(p.detail).toMatch(/last run .*exited with code 3/);
  });

  it('persistent: a time missed while no supervisor ran is run at start; not persistent, or never run before, it waits', async () => {
    const missedFile = scratch();
    const waitingFile = scratch();
    const freshFile = scratch();
    // Its time of day was an hour ago; the last run two days ago: yesterday's and today's were missed.
    const calendar = calendarAt(Date.now() - 3_600_000);
    const s = await startTestSupervisor({
      missed: job(missedFile, calendar),
      waiting: job(waitingFile, calendar, { schedule: { calendar, persistent: false, randomizedDelaySec: 0 } }),
      fresh: job(freshFile, calendar),
    });
    running.push(s);
    mkdirSync(path.join(s.stateDir, 'schedule'), { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * DAY_MS).toISOString();
    for (const name of ['missed', 'waiting']) writeFileSync(path.join(s.stateDir, 'schedule', `${name}.json`), JSON.stringify({ lastTriggerAt: twoDaysAgo }));
    await s.supervisor.startAll();
    await waitFor(() => runs(missedFile).length === 1 && statusOf(s, 'missed').lastExit !== undefined, 'the missed run, at start', 20_000);
    await sleep(1_500);
    expect(runs(missedFile)).toHaveLength(1); // once for all it missed, as systemd's Persistent=
    expect(runs(waitingFile)).toEqual([]);
    expect(runs(freshFile)).toEqual([]);
    for (const name of ['missed', 'waiting', 'fresh']) {
      expect(Date.parse(statusOf(s, name).schedule?.nextRunAt ?? '')).toBeGreaterThan(Date.now() + 3_000_000); // tomorrow, in about 23 h
    }
  });

  it('run now by hand (the control endpoint: dolphin restart daily): it runs at once and its time stays as it was', async () => {
    const file = scratch();
    const s = await start({ daily: job(file, calendarAt(Date.now() + 6 * 3_600_000)) });
    const next = statusOf(s, 'daily').schedule?.nextRunAt;
    const r = await ControlClient.fromRunFile(s.runFile)!.act('daily', 'restart');
    expect(r.status).toBe(202);
    await waitFor(() => runs(file).length === 1 && statusOf(s, 'daily').state === 'scheduled', 'the run by hand', 20_000);
    expect(statusOf(s, 'daily').lastExit?.code).toBe(0);
    expect(statusOf(s, 'daily').schedule?.nextRunAt).toBe(next);
    expect(statusOf(s, 'daily').schedule?.lastTriggerAt).toBeUndefined(); // a run by hand is not the timer's
  });

  it('a calendar it cannot run is FAILED with the reason; the rest runs', async () => {
    const file = scratch();
    const s = await start({
      bad: job(file, 'Mon *-*-* 00:15:00 UTC'),
      keeper: { kind: 'command', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], readiness: { kind: 'none' } },
    });
    const p = statusOf(s, 'bad');
    expect(p.state).toBe('failed');
    expect(p.detail).toMatch(/DOLPHIN_CONFIG_CALENDAR|"Mon \*-\*-\* 00:15:00 UTC"/);
    expect(statusOf(s, 'keeper').state).toBe('running');
    expect(runs(file)).toEqual([]);
  });

  it('dolphin dev never runs a scheduled entry because a file it loads, or a service it depends on, changed', async () => {
    const s = await startTestSupervisor({ 'jobs-api': DEFAULT_SERVICES['jobs-api'], daily: DEFAULT_SERVICES.daily });
    running.push(s);
    const registry = Object.fromEntries(s.supervisor.processes.map((p) => [p.name, p.entry])) as ServiceRegistry;
    const reloader = new DevReloader({ supervisor: s.supervisor, registry, logger: testLogger('dev'), say: () => undefined });
    await reloader.start();
    try {
      const server = path.join(REPO_ROOT, 'services/jobs-api/src/server.ts');
      expect(reloader.servicesOf(server)).toEqual(['jobs-api']);
      expect(reloader.servicesOf(path.join(REPO_ROOT, 'cli/src/main.ts'))).toEqual([]);
      // jobs-api restarts; daily, which depends on it, does not (it would run the batch).
      expect(reloader.restartOrder([server])).toEqual(['jobs-api']);
    } finally {
      await reloader.close();
    }
  });
});
