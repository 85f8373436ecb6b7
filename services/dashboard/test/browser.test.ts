import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '@dolphin/hz';
import { ControlClient } from '@dolphin/supervisor';
import { spawnCollecting, waitFor, type SpawnedProcess } from '@dolphin/test-support';

/** Debian's chromium, installed by `./dolphin test` (scripts/bootstrap.sh); headless, no sandbox, no background traffic. */
const CHROMIUM = process.env.DOLPHIN_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

let up: SpawnedProcess;
let browser: Browser;
let page: Page;
let dashboardUrl: string;
let control: ControlClient;
let scansDir: string;
const requests: string[] = [];

const newestScanOnDisk = (): number => {
  let best = -1;
  for (const day of readdirSync(scansDir)) {
    for (const f of readdirSync(path.join(scansDir, day))) {
      const n = Number(/^scan_(\d+)_/.exec(f)?.[1] ?? -1);
      if (n > best) best = n;
    }
  }
  return best;
};
const shownScan = async () => Number(((await page.textContent('[data-testid=scan-number]')) ?? '').replace('#', '')) || -1;

beforeAll(async () => {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-run-'));
  scansDir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-scans-'));
  up = spawnCollecting(path.join(REPO_ROOT, 'dolphin'), ['up', '--demo', '--port', String(await freePort()), '--rate', '2'], {
    PATH: process.env.PATH, HOME: process.env.HOME, DOLPHIN_QUIET: '1', DOLPHIN__log__pretty: '"never"',
    DOLPHIN_RUN_DIR: runDir, DOLPHIN_CONFIG_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-cfg-')), DOLPHIN_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dolphin-state-')),
    DOLPHIN__scans__dir: JSON.stringify(scansDir), DOLPHIN__jobs__port: '0', DOLPHIN__supervisor__controlPort: '0', DOLPHIN__dashboard__port: '0',
  });
  await waitFor(() => up.text.find((l) => /running; Ctrl-C/.test(l)), 'dolphin up running', 120_000);
  const line = up.text.find((l) => /dashboard running .*open (http:\/\/127\.0\.0\.1:\d+\/)/.test(l));
  dashboardUrl = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line ?? '')?.[1] as string;
  expect(dashboardUrl, 'dolphin up prints the dashboard URL').toBeDefined();
  expect(up.text.some((l) => l.includes(`dashboard: ${dashboardUrl}`)), 'the closing lines repeat it').toBe(true);
  control = ControlClient.fromRunFile(path.join(runDir, 'run', 'supervisor.json')) as ControlClient;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('request', (r) => requests.push(r.url()));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (up?.child.pid) {
    process.kill(up.child.pid, 'SIGINT');
    await Promise.race([up.exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
  await up?.cleanup();
}, 90_000);

describe('the dashboard in a real browser', () => {
  it('shows GREEN once the stack is up, and loads nothing from elsewhere', async () => {
    await page.goto(dashboardUrl);
    await page.locator('[data-testid=status]', { hasText: /^GREEN$/ }).waitFor({ timeout: 90_000 });
    expect(await page.textContent('#rm-meta')).toMatch(/^rm_meta (0\.9\d\d|1\.000)$/);
    expect(await page.locator('#sensors .v').allTextContents()).toHaveLength(5);
    expect(await page.locator('#services tbody tr').count()).toBeGreaterThanOrEqual(8);
    // The services table is the supervisor's, polled every dashboard.pollMs (2 s): it may show a
    // process still starting for a moment after health, which is live, says GREEN.
    await page.locator('#services', { hasText: /event-trader \*\s*running/ }).waitFor({ timeout: 10_000 });
    const origin = new URL(dashboardUrl).origin;
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
  });

  it('updates when a new scan file lands', async () => {
    const before = await shownScan();
    // The demo producer writes the files; the page must come to show one written after this point.
    const landed = await waitFor(() => { const n = newestScanOnDisk(); return n > before && n; }, 'a new scan file', 30_000, 50);
    await expect.poll(shownScan, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(landed);
    expect(await page.textContent('#scan-vel')).toMatch(/^-?\d\.\d{4}$/);
    expect(await page.textContent('#capital')).toMatch(/^\d{1,3}(,\d{3})*\.\d\d$/);
    expect(await page.locator('#vel-chart svg path.line').count()).toBe(1);
    expect(Number(await page.textContent('#lat-count'))).toBeGreaterThan(0);
  });

  it('shows a banner with the last values while the member is down, and clears it when it is back', async () => {
    const lastShown = await shownScan();
    expect((await control.act('member', 'stop')).status).toBe(202);
    await page.waitForSelector('[data-testid=hz-down]', { timeout: 30_000 });
    expect(await page.textContent('#banner')).toMatch(/Hazelcast is unreachable .* the last ones seen, with their age/);
    // The last values stay, and say how old they are.
    expect(await shownScan()).toBeGreaterThanOrEqual(lastShown);
    await page.locator('#card-scan [data-age=scan]', { hasText: /\d+(\.\d)? s old/ }).waitFor({ timeout: 10_000 });
    const frozen = await shownScan();

    expect((await control.act('member', 'start')).status).toBe(202);
    await page.waitForSelector('#banner[hidden]', { state: 'attached', timeout: 90_000 });
    // And it is live again: scans after the outage reach the page.
    await expect.poll(shownScan, { timeout: 60_000, interval: 200 }).toBeGreaterThan(frozen);
  });
});
