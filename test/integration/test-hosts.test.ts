import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveJava } from '@dolphin/hz';
import { spawnCollecting, startTestHosts, testHostsUnavailable, waitFor, type HostProcess, type TestHost, type TestHosts } from '@dolphin/test-support';

/**
 * The multi-host fixture against real namespaces and real processes: three hosts on one switch,
 * a TCP server in each, clients in the others; partition, heal, kill, revive; and stop() leaves
 * no namespace, interface or process behind.
 */
const PORT = 7400; // every host namespace is this test's own: a fixed port cannot clash
const NODE = process.execPath;

// Listens on argv host:port; answers each connection's first line with "<name> got <line> from <peer>".
const SERVER = `
const net = require('node:net');
const [host, port, name] = process.argv.slice(1);
const s = net.createServer((c) => {
  c.setEncoding('utf8');
  c.once('data', (d) => c.end(name + ' got ' + d.trim() + ' from ' + c.remoteAddress + '\\n'));
});
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code })); process.exit(1); });
s.listen(Number(port), host, () => console.log(JSON.stringify({ listening: host })));
`;
// Sends one line to host:port and prints the answer, or "error <code>" (1.5 s without progress is ETIMEDOUT).
const CLIENT = `
const net = require('node:net');
const [host, port, msg] = process.argv.slice(1);
const c = net.connect({ host, port: Number(port), timeout: 1500 });
let out = '';
c.setEncoding('utf8');
c.on('connect', () => c.write(msg + '\\n'));
c.on('data', (d) => { out += d; });
c.on('end', () => { console.log(out.trim()); process.exit(0); });
c.on('timeout', () => { console.log('error ETIMEDOUT'); process.exit(0); });
c.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });
`;

const why = await testHostsUnavailable();
if (why) {
  describe('test hosts (network namespaces on a switch)', () => {
    it('cannot run here', () => {
      console.warn(`test/integration/test-hosts.test.ts does not run here: ${why}`);
    });
  });
} else {
  let net3: TestHosts | undefined;
  let h1: TestHost, h2: TestHost, h3: TestHost;
  const servers = new Map<string, HostProcess>();
  let tmp: string | undefined;

  const serve = async (h: TestHost, host = h.address, name = h.name) => {
    const p = h.spawn(NODE, ['-e', SERVER, host, String(PORT), name]);
    await p.waitForLog((l) => l.listening === host, `${name}'s server on ${host}:${PORT}`);
    return p;
  };
  /** One exchange from `from` to `to`'s address: the server's answer, or "error <code>". */
  const ask = async (from: TestHost, toAddress: string, msg = `hi-from-${from.name}`) => {
    const r = await from.run(NODE, ['-e', CLIENT, toAddress, String(PORT), msg]);
    if (r.code !== 0) throw new Error(`client in ${from.name} exited ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const reaches = async (from: TestHost, to: TestHost) => (await ask(from, to.address)).startsWith(`${to.name} got `);
  // Running: a zombie (killed, not yet reaped by its new parent) does not count.
  const alive = (pid: number) => { try { return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };
  const ipOut = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' }).stdout;

  beforeAll(async () => {
    net3 = await startTestHosts(3);
    [h1, h2, h3] = net3.hosts as [TestHost, TestHost, TestHost];
    console.log(`startTestHosts(3): ${net3.setupMs.toFixed(0)} ms, subnet ${net3.subnet}, switch ${net3.switchNetns}`);
    for (const h of net3.hosts) servers.set(h.name, await serve(h));
  });

  afterAll(async () => {
    // In case a test failed before its own stop(): stop() is idempotent.
    await net3?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('test hosts (network namespaces on a switch)', () => {
    it('makes three hosts with their own addresses in one /24 of 127.64.0.0/10, and nothing in the root namespace', () => {
      const hosts = net3!.hosts;
      expect(hosts.map((h) => h.name)).toEqual(['h1', 'h2', 'h3']);
      const [, a, b] = /^127\.(\d+)\.(\d+)\.0\/24$/.exec(net3!.subnet) ?? [];
      expect(Number(a)).toBeGreaterThanOrEqual(64);
      expect(Number(a)).toBeLessThan(128);
      expect(hosts.map((h) => h.address)).toEqual([1, 2, 3].map((i) => `127.${a}.${b}.${i}`));
      const listed = ipOut('netns', 'list');
      for (const ns of [...hosts.map((h) => h.netns), net3!.switchNetns]) expect(listed).toContain(ns);
      // The switch holds the bridge and the host ports; the root namespace has none of them.
      const ports = ipOut('-n', net3!.switchNetns, '-o', 'link', 'show', 'master', 'br0');
      for (const h of hosts) expect(ports).toMatch(new RegExp(`^\\d+: ${h.name}@`, 'm'));
      const tag = net3!.switchNetns.replace(/-sw$/, '');
      expect(ipOut('-o', 'link', 'show')).not.toContain(tag);
      expect(ipOut('-o', 'link', 'show')).not.toMatch(/link-netns dolphin-h/);
    });

    it('clients in h2 and h3 exchange data with a server in h1 over the switch (the server sees their addresses)', async () => {
      expect(await ask(h2, h1.address, 'ping-2')).toBe(`h1 got ping-2 from ${h2.address}`);
      expect(await ask(h3, h1.address, 'ping-3')).toBe(`h1 got ping-3 from ${h3.address}`);
      expect(await ask(h1, h3.address, 'ping-1')).toBe(`h3 got ping-1 from ${h1.address}`);
      // A host reaches its own address too (through its local route, not the switch).
      expect(await ask(h1, h1.address, 'self')).toBe(`h1 got self from ${h1.address}`);
    });

    it('each host has its own lo: 127.0.0.1 binds in every host on the same port and answers its own', async () => {
      const local = await Promise.all([h1, h2].map((h) => serve(h, '127.0.0.1', `${h.name}-lo`)));
      try {
        expect(await ask(h1, '127.0.0.1', 'x')).toBe('h1-lo got x from 127.0.0.1');
        expect(await ask(h2, '127.0.0.1', 'y')).toBe('h2-lo got y from 127.0.0.1');
        // 127.0.0.2 is not local in a host (the /8 local route is removed) and not on the switch's /24.
        expect(await ask(h3, '127.0.0.2', 'z')).toMatch(/^error /);
      } finally {
        await Promise.all(local.map((p) => p.cleanup()));
      }
    });

    it('a Java process in a host binds the host address and answers a client in another host', async () => {
      let java: string;
      try {
        java = resolveJava();
      } catch (err) {
        console.warn(`test/integration/test-hosts.test.ts: the Java bind check does not run here: ${(err as Error).message}`);
        return;
      }
      tmp = mkdtempSync(path.join(os.tmpdir(), 'dolphin-hosts-'));
      const src = path.join(tmp, 'Bind.java');
      writeFileSync(src, `
public class Bind {
  public static void main(String[] a) throws Exception {
    var s = new java.net.ServerSocket();
    s.bind(new java.net.InetSocketAddress(a[0], ${PORT + 1}));
    System.out.println("{\\"listening\\":\\"" + a[0] + "\\"}");
    try (var c = s.accept()) {
      var line = new java.io.BufferedReader(new java.io.InputStreamReader(c.getInputStream())).readLine();
      c.getOutputStream().write(("java got " + line + " from " + c.getInetAddress().getHostAddress() + "\\n").getBytes());
    }
  }
}
`);
      const p = h3.spawn(java, ['-XX:-UsePerfData', `-Djava.io.tmpdir=${tmp}`, '-Djava.net.preferIPv4Stack=true', src, h3.address]);
      try {
        await p.waitForLog((l) => l.listening === h3.address, 'the Java server', 60_000);
        const r = await h1.run(NODE, ['-e', CLIENT, h3.address, String(PORT + 1), 'jv']);
        expect(r.stdout.trim()).toBe(`java got jv from ${h1.address}`);
      } finally {
        await p.cleanup();
      }
    });

    it('from the root namespace a host address is only the root\'s own loopback: no host answers', async () => {
      // The root namespace routes all of 127.0.0.0/8 to its own lo.
      expect(ipOut('route', 'get', h1.address)).toMatch(/^local .* dev lo/);
      const answer = await new Promise<string>((resolve) => {
        const c = net.connect({ host: h1.address, port: PORT, timeout: 1500 });
        let out = '';
        c.setEncoding('utf8');
        c.on('connect', () => c.write('root\n'));
        c.on('data', (d: string) => { out += d; });
        c.on('end', () => resolve(out));
        c.on('timeout', () => { c.destroy(); resolve('error ETIMEDOUT'); });
        c.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      });
      // Refused unless the root namespace itself listens on that port; never h1's server.
      expect(answer).not.toContain('h1 got');
    });

    it('partition() cuts h2 off from h1 and h3 while h1 and h3 still talk; heal() restores it', async () => {
      expect(await reaches(h2, h1)).toBe(true); // so the failures below mean something
      await h2.partition();
      const cut = await Promise.all([ask(h2, h1.address), ask(h2, h3.address), ask(h1, h2.address), ask(h3, h2.address)]);
      for (const answer of cut) expect(answer).toMatch(/^error (ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/);
      expect(await reaches(h1, h3)).toBe(true);
      expect(await reaches(h3, h1)).toBe(true);
      expect(ipOut('-n', h2.netns, 'link', 'show', 'eth0')).toContain('NO-CARRIER');
      await h2.heal();
      await waitFor(() => reaches(h2, h1), 'h2 to reach h1 after heal', 15_000, 100);
      expect(await reaches(h2, h3)).toBe(true);
      expect(await reaches(h1, h2)).toBe(true);
    });

    it('kill() SIGKILLs every process in h3 (its group, a setsid escapee, a grandchild) and takes its link down; revive() brings it back', async () => {
      const server = servers.get('h3')!;
      // A process outside any tracked group (setsid) with a grandchild: found through the namespace.
      const shell = h3.spawn('/bin/sh', ['-c', 'setsid sleep 600 & echo "{\\"escapee\\":$!}"; sleep 600 & echo "{\\"grandchild\\":$!}"; wait']);
      const escapee = Number((await shell.waitForLog((l) => typeof l.escapee === 'number', 'the escapee pid')).escapee);
      const grandchild = Number((await shell.waitForLog((l) => typeof l.grandchild === 'number', 'the grandchild pid')).grandchild);
      const pids = [server.child.pid!, shell.child.pid!, escapee, grandchild];
      expect(pids.every(alive)).toBe(true);
      expect(await reaches(h1, h3)).toBe(true);
      const running = h3.run('/bin/sleep', ['600'], { timeoutMs: 60_000 }); // a run() in flight dies too
      await waitFor(() => ipOut('netns', 'pids', h3.netns).trim().split('\n').length >= 5, 'the sleep to start in h3', 5_000);

      await h3.kill();
      expect(await running).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: false });
      expect(h3.dead).toBe(true);
      expect((await server.exited).signal).toBe('SIGKILL');
      await waitFor(() => !pids.some(alive), 'every process of h3 to be gone', 5_000);
      expect(ipOut('netns', 'pids', h3.netns).trim()).toBe('');
      expect(ipOut('-n', net3!.switchNetns, 'link', 'show', 'h3')).toContain('state DOWN');
      expect(await ask(h1, h3.address)).toMatch(/^error /);
      expect(() => h3.spawn('/bin/true', [])).toThrow(/dead; revive\(\) it first/);

      await h3.revive();
      expect(h3.dead).toBe(false);
      servers.set('h3', await serve(h3));
      await waitFor(() => reaches(h1, h3), 'h1 to reach the revived h3', 15_000, 100);
      expect(await reaches(h3, h2)).toBe(true);
    });

    it('two fixtures at once get different names and subnets and do not see each other', async () => {
      const other = await startTestHosts(1);
      try {
        expect(other.subnet).not.toBe(net3!.subnet);
        expect(other.hosts[0]!.netns).not.toBe(h1.netns);
        const [o1] = other.hosts as [TestHost];
        // Same last octet as h1, another /24 on another switch: h1's server is not there.
        expect(await ask(o1, h1.address)).toMatch(/^error /);
      } finally {
        expect((await other.stop()).leftovers).toEqual([]);
      }
    });

    it('a fixture whose test process was SIGKILLed is removed by the next start, with the processes left in it', async () => {
      // A stand-in test process: makes a host, starts an escapee (its own session) in it, says so, waits to be killed.
      const script = `
        import { startTestHosts } from ${JSON.stringify(new URL('../support/test-hosts.ts', import.meta.url).pathname)};
        const net = await startTestHosts(1);
        const p = net.hosts[0].spawn('/bin/sh', ['-c', 'setsid sleep 600 & echo "{\\\\"escapee\\\\":$!}"; wait']);
        const e = await p.waitForLog((l) => typeof l.escapee === 'number', 'the escapee');
        console.log(JSON.stringify({ names: [net.hosts[0].netns, net.switchNetns], escapee: e.escapee }));
        setInterval(() => {}, 1000);
      `;
      const doomed = spawnCollecting(NODE, ['--input-type=module', '-e', script], { PATH: process.env.PATH });
      let escapee = 0;
      try {
        const line = await doomed.waitForLog((l) => Array.isArray(l.names), 'the stand-in test to make its host', 30_000);
        const names = line.names as string[];
        escapee = Number(line.escapee);
        process.kill(doomed.child.pid!, 'SIGKILL');
        await doomed.exited;
        // Left behind, as a killed test leaves them.
        for (const ns of names) expect(ipOut('netns', 'list')).toContain(ns);
        expect(alive(escapee)).toBe(true);

        const next = await startTestHosts(1);
        const { leftovers } = await next.stop();
        expect(leftovers).toEqual([]);
        for (const ns of names) expect(ipOut('netns', 'list')).not.toContain(ns);
        await waitFor(() => !alive(escapee), 'the escapee of the killed fixture to be gone', 5_000);
      } finally {
        await doomed.cleanup();
        if (escapee && alive(escapee)) process.kill(escapee, 'SIGKILL');
      }
    });

    it('stop() leaves nothing: no namespace, no interface in the root namespace, no process', async () => {
      // An untracked process (its own session) in h2: stop() finds it through the namespace.
      const shell = h2.spawn('/bin/sh', ['-c', 'setsid sleep 600 & echo "{\\"escapee\\":$!}"; wait']);
      const escapee = Number((await shell.waitForLog((l) => typeof l.escapee === 'number', 'the escapee pid')).escapee);
      const pids = [...servers.values(), shell].map((p) => p.child.pid!).concat(escapee);
      expect(pids.every(alive)).toBe(true);
      const names = [...net3!.hosts.map((h) => h.netns), net3!.switchNetns];
      const { leftovers, ms } = await net3!.stop();
      console.log(`stop(): ${ms.toFixed(0)} ms`);
      expect(leftovers).toEqual([]);
      const listed = ipOut('netns', 'list');
      for (const ns of names) expect(listed).not.toContain(ns);
      expect(ipOut('-o', 'link', 'show')).not.toContain(net3!.switchNetns.replace(/-sw$/, ''));
      await waitFor(() => !pids.some(alive), 'every process of the hosts to be gone', 5_000);
      for (const ns of names) expect(existsSync(`/run/netns/${ns}`)).toBe(false);
      // Idempotent: a second stop() is the same answer.
      expect((await net3!.stop()).leftovers).toEqual([]);
    });
  });
}
