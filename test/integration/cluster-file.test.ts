import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, memberHealth, startMember, type MemberHandle } from '@dolphin/hz';
import { testLogger, waitFor } from '@dolphin/test-support';

const started: MemberHandle[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop(10_000)));
});

/** The local addresses listening on `port`, from `ss -ltn` (the kernel's view, not the JVM's). */
function listeners(port: number): string[] {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/)[3] as string);
}

// Any 127.x address is local on the root namespace's lo (127.0.0.0/8 is routed to it), so two
// "hosts" on one machine are two loopback addresses.
describe('a member bound to its host address', () => {
  it('listens on 127.0.0.2 only: not on 127.0.0.1, not on 0.0.0.0', async () => {
    const port = await freePort();
    const m = await startMember({ port, address: '127.0.0.2', clusterName: 'bind-test', heapMb: 256, logger: testLogger() });
    started.push(m);
    expect(m.address).toBe(`127.0.0.2:${port}`);
    expect(listeners(port)).toEqual([`127.0.0.2:${port}`]);
    expect(await memberHealth(`127.0.0.2:${port}`)).toMatchObject({ nodeState: 'ACTIVE', clusterSize: 1 });
    expect(await memberHealth(`127.0.0.1:${port}`, 500)).toBeUndefined();
  });

  it('two members on 127.0.0.2 and 127.0.0.3, same port, form one cluster of 2', async () => {
    const port = await freePort();
    const members = [`127.0.0.2:${port}`, `127.0.0.3:${port}`];
    const common = { port, clusterName: 'bind-pair', heapMb: 256, members, logger: testLogger() };
    const [a, b] = await Promise.all([startMember({ ...common, address: '127.0.0.2' }), startMember({ ...common, address: '127.0.0.3' })]);
    started.push(a, b);
    expect(listeners(port).sort()).toEqual(members);
    for (const at of members) {
      await waitFor(async () => (await memberHealth(at))?.clusterSize === 2, `${at} to see a cluster of 2`, 60_000);
    }
  });
});
