import { isIPv4, isIPv6 } from 'node:net';
import { makeError } from '@dolphin/core';
import { SupervisorErrors } from './errors.ts';

/**
 * The member-port firewall: Hazelcast Community has no authentication, so any local process
 * that can open a TCP connection to the member can write forged values. This nftables table
 * refuses (tcp reset) new connections from this host to the member port(s) unless the
 * connecting socket belongs to an allowed user (the dolphin user; root always).
 * Pure: text in, text out; `dolphin firewall` (and later `dolphin install`) applies it.
 */

/** Where a member listens: an IPv4 or IPv6 address, optionally a prefix (127.0.0.0/8), and a port. */
export interface MemberEndpoint {
  address: string;
  port: number;
}

export interface MemberFirewallOptions {
  /** The member addresses and ports that only the allowed users may connect to. */
  endpoints: readonly MemberEndpoint[];
  /** Socket owners (uids) allowed to connect; root (0) is always allowed. */
  uids: readonly number[];
}

export const FIREWALL_TABLE = 'inet dolphin_member';
export const LOOPBACK_V4 = '127.0.0.0/8';
export const LOOPBACK_V6 = '::1';
const MAX_UID = 0xfffffffe; // (uid_t)-1 means "no uid" to the kernel

const bad = (what: string) => makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_FIREWALL_TARGET, what);

function family(address: string): 'ip' | 'ip6' {
  const [addr = '', prefix, extra] = address.split('/');
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) throw bad(`member address "${address}" is not an IPv4 or IPv6 address (nftables needs an address, not a host name)`);
  if (extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (v4 ? 32 : 128)))) {
    throw bad(`member address "${address}": the prefix after / must be 0..${v4 ? 32 : 128}`);
  }
  return v4 ? 'ip' : 'ip6';
}

function checkPort(port: number, where: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw bad(`${where}: port ${port} is not 1..65535`);
  return port;
}

/** The loopback endpoints (127.0.0.0/8 and ::1) on each port: a member on this machine alone. */
export function loopbackEndpoints(ports: readonly number[]): MemberEndpoint[] {
  return ports.flatMap((port) => [{ address: LOOPBACK_V4, port }, { address: LOOPBACK_V6, port }]);
}

const isLoopback = (host: string) => host === 'localhost' || host === LOOPBACK_V6 || (isIPv4(host) && host.startsWith('127.'));

/**
 * The endpoints for a configuration: loopback on the member's own port, plus every
 * `host:port` of `hazelcast.members` (`[v6]:port` for IPv6). A loopback member adds its port
 * to the loopback endpoints; any other member must be given by address.
 */
export function memberEndpoints(memberPort: number, members: readonly string[] = []): MemberEndpoint[] {
  const ports = new Set([checkPort(memberPort, 'member.port')]);
  const others: MemberEndpoint[] = [];
  for (const member of members) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(member.trim());
    if (!m) throw bad(`hazelcast member "${member}" is not host:port (or [v6-address]:port)`);
    const host = (m[1] ?? m[2]) as string;
    const port = checkPort(Number(m[3]), `hazelcast member "${member}"`);
    if (isLoopback(host)) ports.add(port);
    else if (isIPv4(host) || isIPv6(host)) others.push({ address: host, port });
    else throw bad(`hazelcast member "${member}": "${host}" is a host name; nftables needs its address`);
  }
  return [...loopbackEndpoints([...ports].sort((a, b) => a - b)), ...others];
}

/**
 * The ruleset, for `nft -f`. One table of Dolphin's own, deleted and written again in the same
 * transaction, so applying it twice leaves one table and nothing of the host's other rules is
 * touched. A reject in any table is final, so another table's accept cannot let a connection by.
 */
export function memberFirewallRuleset(o: MemberFirewallOptions): string {
  if (o.endpoints.length === 0) throw bad('no member endpoint to protect');
  const uids = [...new Set([0, ...o.uids])].sort((a, b) => a - b);
  for (const uid of uids) {
    if (!Number.isInteger(uid) || uid < 0 || uid > MAX_UID) throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_FIREWALL_USER, `uid ${uid} is not 0..${MAX_UID}`);
  }
  // address → its ports, in the order given; one rule per address.
  const byAddress = new Map<string, Set<number>>();
  for (const e of o.endpoints) {
    family(e.address);
    checkPort(e.port, `member address ${e.address}`);
    const ports = byAddress.get(e.address) ?? new Set<number>();
    byAddress.set(e.address, ports.add(e.port));
  }
  const rules = [...byAddress].map(([address, set]) => {
    const ports = [...set].sort((a, b) => a - b);
    const dport = ports.length === 1 ? String(ports[0]) : `{ ${ports.join(', ')} }`;
    return `\t\t${family(address)} daddr ${address} tcp dport ${dport} tcp flags & (syn | ack) == syn meta skuid != @allowed_uids reject with tcp reset`;
  });
  return [
    '#!/usr/sbin/nft -f',
    '# Dolphin: only the users below may open connections from this host to the Hazelcast member',
    '# port(s); Hazelcast Community has no authentication. Written by `dolphin firewall print`.',
    `table ${FIREWALL_TABLE}`,
    `delete table ${FIREWALL_TABLE}`,
    `table ${FIREWALL_TABLE} {`,
    '\tset allowed_uids {',
    '\t\ttypeof meta skuid',
    `\t\telements = { ${uids.join(', ')} }`,
    '\t}',
    '',
    '\tchain output {',
    '\t\ttype filter hook output priority filter; policy accept;',
    // A SYN without ACK opens a connection: the member's replies (SYN-ACK, owned by dolphin) and
    // established connections pass, and no conntrack is needed. A packet with no socket (a
    // kernel RST) has no owner, so `meta skuid` does not match it.
    '\t\t# New connections (SYN without ACK) whose socket owner is not allowed: refused with a reset.',
    ...rules,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/**
 * The uid of a user name in passwd(5) text, or the number itself for a numeric uid (a
 * stand-in user need not exist).
 */
export function uidOf(user: string, passwd: string, passwdFile = '/etc/passwd'): number {
  if (/^\d+$/.test(user)) return Number(user);
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name === user && uid !== undefined && /^\d+$/.test(uid)) return Number(uid);
  }
  throw makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_FIREWALL_USER, `user "${user}" is not in ${passwdFile}: create it (useradd --system ${user}) or give a numeric uid`);
}
