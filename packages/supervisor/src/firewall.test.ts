import { describe, expect, it } from 'vitest';
import { isDolphinError } from '@dolphin/core';
import { loopbackEndpoints, memberEndpoints, memberFirewallRuleset, uidOf } from './firewall.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\ndolphin:x:998:998::/var/lib/dolphin:/usr/sbin/nologin\n';
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return isDolphinError(err) ? `${err.code}: ${err.message}` : String(err);
  }
  return undefined;
};

describe('member firewall ruleset', () => {
  it('the default: loopback on 5701, only root and the dolphin uid, new connections only, in a table of its own', () => {
    expect(memberFirewallRuleset({ endpoints: loopbackEndpoints([5701]), uids: [998] })).toBe(`#!/usr/sbin/nft -f
# Dolphin: only the users below may open connections from this host to the Hazelcast member
# port(s); Hazelcast Community has no authentication. Written by \`dolphin firewall print\`.
table inet dolphin_member
delete table inet dolphin_member
table inet dolphin_member {
\tset allowed_uids {
\t\ttypeof meta skuid
\t\telements = { 0, 998 }
\t}

\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t\t# New connections (SYN without ACK) whose socket owner is not allowed: refused with a reset.
\t\tip daddr 127.0.0.0/8 tcp dport 5701 tcp flags & (syn | ack) == syn meta skuid != @allowed_uids reject with tcp reset
\t\tip6 daddr ::1 tcp dport 5701 tcp flags & (syn | ack) == syn meta skuid != @allowed_uids reject with tcp reset
\t}
}
`);
  });

  it('root is always allowed, uids once and sorted; several ports on one address share a rule', () => {
    // A member elsewhere: documentation addresses (RFC 3849), which nothing routes.
    const text = memberFirewallRuleset({ endpoints: [...loopbackEndpoints([5702, 5701]), { address: '2001:db8::6', port: 5701 }], uids: [4343, 0, 4242, 4343] });
    expect(text).toContain('elements = { 0, 4242, 4343 }');
    expect(text).toContain('\t\tip daddr 127.0.0.0/8 tcp dport { 5701, 5702 } tcp flags');
    expect(text).toContain('\t\tip6 daddr ::1 tcp dport { 5701, 5702 } tcp flags');
    expect(text).toContain('\t\tip6 daddr 2001:db8::6 tcp dport 5701 tcp flags');
    expect(text.match(/reject with tcp reset/g)).toHaveLength(3);
    expect(memberFirewallRuleset({ endpoints: loopbackEndpoints([5701]), uids: [] })).toContain('elements = { 0 }');
  });

  it('applying it twice leaves one table: it creates, deletes and writes the table in one file', () => {
    const lines = memberFirewallRuleset({ endpoints: loopbackEndpoints([5701]), uids: [1] }).split('\n');
    expect(lines.filter((l) => /^(table|delete table) /.test(l))).toEqual(['table inet dolphin_member', 'delete table inet dolphin_member', 'table inet dolphin_member {']);
  });

  it('refuses what nft could not read, naming it', () => {
    expect(codeOf(() => memberFirewallRuleset({ endpoints: [{ address: 'hz1', port: 5701 }], uids: [1] }))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: member address "hz1" is not an IPv4 or IPv6/);
    expect(codeOf(() => memberFirewallRuleset({ endpoints: [{ address: '127.0.0.0/33', port: 5701 }], uids: [1] }))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: member address "127.0.0.0\/33"/);
    expect(codeOf(() => memberFirewallRuleset({ endpoints: loopbackEndpoints([0]), uids: [1] }))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: .*port 0 is not 1\.\.65535/);
    expect(codeOf(() => memberFirewallRuleset({ endpoints: [], uids: [1] }))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: no member endpoint/);
    expect(codeOf(() => memberFirewallRuleset({ endpoints: loopbackEndpoints([5701]), uids: [-1] }))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_USER: uid -1/);
    expect(codeOf(() => memberFirewallRuleset({ endpoints: loopbackEndpoints([5701]), uids: [2 ** 32 - 1] }))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_USER: uid 4294967295/);
  });
});

describe('member endpoints of a configuration', () => {
  it('loopback on member.port; loopback members add their ports; other members by address', () => {
    expect(memberEndpoints(5701)).toEqual(loopbackEndpoints([5701]));
    expect(memberEndpoints(5701, ['127.0.0.1:5701', 'localhost:5703', '[::1]:5702'])).toEqual(loopbackEndpoints([5701, 5702, 5703]));
    expect(memberEndpoints(5701, ['[2001:db8::6]:5701', '[2001:db8::7]:5801'])).toEqual([...loopbackEndpoints([5701]), { address: '2001:db8::6', port: 5701 }, { address: '2001:db8::7', port: 5801 }]);
  });

  it('a host name or a bad port is an error naming the member', () => {
    expect(codeOf(() => memberEndpoints(5701, ['hz1:5701']))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: hazelcast member "hz1:5701": "hz1" is a host name/);
    expect(codeOf(() => memberEndpoints(5701, ['127.0.0.1:70000']))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: hazelcast member "127.0.0.1:70000": port 70000/);
    expect(codeOf(() => memberEndpoints(5701, ['127.0.0.1']))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: hazelcast member "127.0.0.1" is not host:port/);
    expect(codeOf(() => memberEndpoints(0))).toMatch(/^DOLPHIN_SUPERVISOR_FIREWALL_TARGET: member.port: port 0/);
  });
});

describe('uidOf', () => {
  it('a name from passwd text; a number as itself', () => {
    expect(uidOf('dolphin', PASSWD)).toBe(998);
    expect(uidOf('root', PASSWD)).toBe(0);
    expect(uidOf('4242', PASSWD)).toBe(4242);
  });

  it('a user that is not there is an error naming it and the file', () => {
    expect(codeOf(() => uidOf('dolphn', PASSWD))).toBe('DOLPHIN_SUPERVISOR_FIREWALL_USER: user "dolphn" is not in /etc/passwd: create it (useradd --system dolphn) or give a numeric uid');
    expect(codeOf(() => uidOf('dolph', PASSWD))).toMatch(/user "dolph" is not in/); // a prefix of a name is not that name
  });
});
