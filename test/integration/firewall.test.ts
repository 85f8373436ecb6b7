import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_CONFIG_FILE, memberJvmArgs, REPO_ROOT, resolveJava, resolveMemberJar } from '@dolphin/hz';
import { spawnCollecting, waitFor, type SpawnedProcess } from '@dolphin/test-support';

/**
 * The member-port firewall against a real member: inside a network namespace of this test's own
 * (the host's ruleset is never touched), a Hazelcast member runs as a stand-in dolphin uid,
 * `dolphin firewall apply` loads the rules, and a TCP connect from each uid shows who gets in.
 */
const ALLOWED = 4242; // the stand-in dolphin user; it need not exist in /etc/passwd
const OTHER = 4343; // any other local user
const PORT = 5701; // the default member.port: the namespace is this test's alone
const TABLE = 'inet dolphin_member';

const which = (name: string) => [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin'].map((d) => path.join(d, name)).find((p) => existsSync(p));
// A python other uids can run: not a shim under root's home.
const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));

function cannotRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces and nftables are Linux only';
  if (process.getuid?.() !== 0) return 'it must run as root (it makes a network namespace and loads nftables rules inside it)';
  for (const tool of ['ip', 'nft', 'setpriv']) if (!which(tool)) return `${tool} is not installed (./dolphin test installs Debian's nftables as root)`;
  if (!PYTHON) return 'no python3 in /usr/bin or /usr/local/bin for the test client';
  return undefined;
}

// Connects as `uid` inside the namespace and prints one word: connected, refused, or error.
// With `http`, asks the member's health check and prints its status line (replies must pass too).
const CLIENT = `
import socket, sys
host, port, http = sys.argv[1], int(sys.argv[2]), sys.argv[3] == 'http'
try:
    s = socket.create_connection((host, port), timeout=5)
except ConnectionRefusedError:
    print('refused'); sys.exit(0)
except OSError as e:
    print('error', e.errno, e); sys.exit(0)
if http:
    s.sendall(b'GET /hazelcast/health/ready HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n')
    data = b''
    while b'\\r\\n' not in data:
        chunk = s.recv(4096)
        if not chunk: break
        data += chunk
    print(data.split(b'\\r\\n', 1)[0].decode())
else:
    print('connected')
s.close()
`;

const why = cannotRun();
if (why) {
  describe('member firewall (nftables, in a network namespace)', () => {
    it('cannot run here', () => {
      console.warn(`test/integration/firewall.test.ts does not run here: ${why}`);
    });
  });
} else {
  const ns = `dolphin-fw-${randomBytes(4).toString('hex')}`;
  const inNs = (cmd: string, args: string[], input?: string) =>
    spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 60_000, ...(input === undefined ? {} : { input }) });
  const asUid = (uid: number) => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  /** One TCP connect to the member's port from `uid`, run inside the namespace. */
  const connect = (uid: number, host = '127.0.0.1', mode: 'connect' | 'http' = 'connect') => {
    const [cmd, ...args] = asUid(uid);
    const r = inNs(cmd as string, [...args, PYTHON as string, '-c', CLIENT, host, String(PORT), mode]);
    if (r.status !== 0) throw new Error(`client as uid ${uid} failed (exit ${r.status}): ${r.stderr}`);
    return r.stdout.trim();
  };
  const apply = () => inNs(process.execPath, [path.join(REPO_ROOT, 'cli/src/main.ts'), 'firewall', 'apply', '--user', String(ALLOWED), '--port', String(PORT)]);

  let tmp: string | undefined;
  let nsMade = false;
  let member: SpawnedProcess | undefined;
  let v6Listener: SpawnedProcess | undefined;

  beforeAll(async () => {
    const made = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`ip netns add ${ns}: ${made.stderr}`);
    nsMade = true;
    const lo = spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
    if (lo.status !== 0) throw new Error(`ip -n ${ns} link set lo up: ${lo.stderr}`);

    // The jar and config where the stand-in uid can read them (the cache may sit under /root).
    tmp = mkdtempSync(path.join(os.tmpdir(), 'dolphin-fw-'));
    chmodSync(tmp, 0o755);
    const jar = path.join(tmp, 'hazelcast.jar');
    const config = path.join(tmp, 'hazelcast.xml');
    copyFileSync(resolveMemberJar(), jar);
    copyFileSync(MEMBER_CONFIG_FILE, config);
    const home = path.join(tmp, 'home');
    mkdirSync(home);
    chownSync(home, ALLOWED, ALLOWED);
    const java = resolveJava();
    accessSync(java, constants.X_OK);
    const jvm = memberJvmArgs({
      port: PORT, clusterName: ns, jar, configFile: config, heapMb: 256, members: [`127.0.0.1:${PORT}`],
      // No hsperfdata file left in /tmp; the JVM's scratch files in the test's folder.
      extra: ['-XX:-UsePerfData', `-Djava.io.tmpdir=${home}`, `-Duser.home=${home}`],
    });
    member = spawnCollecting('ip', ['netns', 'exec', ns, ...asUid(ALLOWED), '--pdeathsig', 'TERM', java, ...jvm], { PATH: process.env.PATH, HOME: home });
    // An IPv6 listener on [::1]:PORT (the member is IPv4 only) for the ip6 rule.
    v6Listener = spawnCollecting('ip', ['netns', 'exec', ns, PYTHON as string, '-c',
      `import socket, time\ns = socket.socket(socket.AF_INET6)\ns.bind(('::1', ${PORT}))\ns.listen(16)\nprint('listening', flush=True)\ntime.sleep(3600)`], { PATH: process.env.PATH });

    const m = member;
    await waitFor(() => {
      if (m.child.exitCode !== null || m.child.signalCode !== null) throw new Error(`the member exited: ${m.text.slice(-30).join('\n')}`);
      return connect(0, '127.0.0.1', 'http').startsWith('HTTP/1.1 200');
    }, `the member in ${ns} to be ready`, 120_000, 500);
    await waitFor(() => connect(0, '::1') === 'connected', 'the [::1] listener', 10_000, 100);
  });

  afterAll(async () => {
    // Everything this test made, whatever happened: its processes, the namespace, the files.
    await Promise.all([member?.cleanup(), v6Listener?.cleanup()]);
    if (nsMade) {
      const del = spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
      if (del.status !== 0) console.warn(`ip netns del ${ns}: ${del.stderr}`);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('member firewall (nftables, in a network namespace)', () => {
    it('without the rule, another user connects to the member port (so the test below can fail)', () => {
      expect(connect(OTHER)).toBe('connected');
      expect(connect(OTHER, '127.0.0.1', 'http')).toMatch(/^HTTP\/1\.1 200/);
      expect(connect(OTHER, '0.0.0.0')).toBe('connected');
      expect(connect(OTHER, '::1')).toBe('connected');
    });

    it('dolphin firewall apply loads the rules; applied twice, there is one table', () => {
      for (let i = 0; i < 2; i++) {
        const r = apply();
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain(`applied nftables table ${TABLE}`);
        expect(r.stdout).toContain(`unless the socket's owner is root (0), uid ${ALLOWED}`);
      }
      const tables = inNs('nft', ['list', 'tables']);
      expect(tables.stdout.trim().split('\n')).toEqual([`table ${TABLE}`]);
      const table = inNs('nft', ['list', 'table', ...TABLE.split(' ')]);
      expect(table.stdout).toContain(`elements = { 0, ${ALLOWED} }`);
      expect(table.stdout.match(/reject with tcp reset/g)).toHaveLength(2);
    });

    it('with the rule: root and the dolphin uid connect and get answers; another user is refused', () => {
      expect(connect(0)).toBe('connected');
      expect(connect(0, '127.0.0.1', 'http')).toMatch(/^HTTP\/1\.1 200/);
      expect(connect(ALLOWED)).toBe('connected');
      // A whole request and reply from the dolphin uid: the member's replies are not touched.
      expect(connect(ALLOWED, '127.0.0.1', 'http')).toMatch(/^HTTP\/1\.1 200/);
      expect(connect(OTHER)).toBe('refused');
      expect(connect(OTHER, '127.0.0.1', 'http')).toBe('refused');
      expect(connect(OTHER, '0.0.0.0')).toBe('refused'); // the kernel sends it to 127.0.0.1
      expect(connect(OTHER, '::1')).toBe('refused');
      expect(connect(ALLOWED, '::1')).toBe('connected');
    });

    it('deleting the table lets the other user in again: the refusal was the rule', () => {
      const del = inNs('nft', ['delete', 'table', ...TABLE.split(' ')]);
      expect(del.status, del.stderr).toBe(0);
      expect(connect(OTHER)).toBe('connected');
    });
  });
}
