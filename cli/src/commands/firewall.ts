import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, makeError, type DolphinConfig } from '@dolphin/core';
import { FIREWALL_TABLE, memberEndpoints, memberFirewallRuleset, SupervisorErrors, uidOf } from '@dolphin/supervisor';

export interface FirewallOptions {
  /** Users allowed to connect, comma-separated names or uids (root always is). */
  user: string;
  /** The member port (default: member.port, with the members of hazelcast.members). */
  port?: number;
  /** host:port,... of the cluster's members (default: hazelcast.members). */
  members?: string;
}

const PASSWD = '/etc/passwd';

interface Ruleset {
  text: string;
  allowed: string;
  targets: string;
}

/** The ruleset for the options and the configuration, with a plain description of what it allows. */
export function memberRuleset(o: FirewallOptions): Ruleset {
  const users = o.user.split(',').map((u) => u.trim()).filter(Boolean);
  const passwd = users.some((u) => !/^\d+$/.test(u)) ? readFileSync(PASSWD, 'utf8') : '';
  const uids = users.map((u) => [u, uidOf(u, passwd, PASSWD)] as const);
  // The configuration only for what the options leave open; --port alone means that port only.
  let config: DolphinConfig | undefined;
  const cfg = () => (config ??= loadConfig());
  const port = o.port ?? cfg().member.port;
  const members = o.members?.split(',').filter(Boolean) ?? (o.port === undefined ? cfg().hazelcast.members : []);
  const endpoints = memberEndpoints(port, members);
  const byAddress = new Map<string, number[]>();
  for (const e of endpoints) byAddress.set(e.address, [...(byAddress.get(e.address) ?? []), e.port]);
  return {
    text: memberFirewallRuleset({ endpoints, uids: uids.map(([, uid]) => uid) }),
    allowed: ['root (0)', ...uids.filter(([, uid]) => uid !== 0).map(([u, uid]) => (u === String(uid) ? `uid ${uid}` : `${u} (${uid})`))].join(', '),
    targets: [...byAddress].map(([address, ports]) => `${address} port ${ports.join(', ')}`).join('; '),
  };
}

// async so that an error reaches the command's exit handling as a rejection.
export async function firewallPrint(o: FirewallOptions): Promise<number> {
  process.stdout.write(memberRuleset(o).text);
  return 0;
}

const applyError = (message: string) => makeError(SupervisorErrors.DOLPHIN_SUPERVISOR_FIREWALL_APPLY, message);

/** nft on PATH, else where Debian puts it (/usr/sbin is not on every user's PATH). */
function findNft(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  return dirs.map((d) => d && path.join(d, 'nft')).find((p) => p && existsSync(p));
}

/** Loads the ruleset into the kernel with `nft -f -` (as root), replacing Dolphin's table only. */
export async function firewallApply(o: FirewallOptions): Promise<number> {
  const rules = memberRuleset(o);
  const nft = findNft();
  if (!nft) throw applyError("nft is not installed (Debian: apt-get install nftables); the rules are what 'dolphin firewall print' shows");
  if (process.getuid?.() !== 0) throw applyError("applying nftables rules needs root: run 'sudo ./dolphin firewall apply', or load what 'dolphin firewall print' shows yourself");
  const r = spawnSync(nft, ['-f', '-'], { input: rules.text, encoding: 'utf8' });
  if (r.error) throw applyError(`${nft} -f - did not run: ${r.error.message}`);
  if (r.status !== 0) throw applyError(`${nft} -f - refused the ruleset (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  console.log(`dolphin: applied nftables table ${FIREWALL_TABLE} (replacing any earlier one): new TCP connections from this host to ${rules.targets} are refused with a reset unless the socket's owner is ${rules.allowed}.`);
  console.log(`dolphin: see it with 'nft list table ${FIREWALL_TABLE}'; remove it with 'nft delete table ${FIREWALL_TABLE}'. It lasts until reboot (see docs/operations.md).`);
  return 0;
}
