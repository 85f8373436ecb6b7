import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ValueSeal } from '@dolphin/core';
import { connect, freePort, openSeal, startMember, type HazelcastSettings, type HzConnection, type MemberHandle } from '@dolphin/hz';
import { testLogger } from './logger.ts';

/** A member a test talks to, however it was provided. */
export interface TestMember {
  readonly kind: 'external' | 'container' | 'jar';
  readonly clusterName: string;
  readonly members: string[];
  /** The jar member's handle (kill/restart tests need it). */
  readonly handle: MemberHandle | undefined;
  settings(overrides?: Partial<HazelcastSettings>): HazelcastSettings;
  /** A client; with `seal`, it seals what it writes and refuses unsealed values, as Dolphin's services do. */
  client(overrides?: Partial<HazelcastSettings>, options?: { seal?: ValueSeal }): Promise<HzConnection>;
  stop(): Promise<void>;
}

/**
 * A seal key of the test's own in `dir` (made once): the key file to hand to services
 * (`DOLPHIN__security__keyFile`) and the seal for the test's own clients, so that what the test
 * writes is Dolphin's to them and what they write can be checked.
 */
export function testSeal(dir: string): { keyFile: string; seal: ValueSeal } {
  const keyFile = path.join(dir, 'dolphin.key');
  return { keyFile, seal: openSeal(dir, keyFile, { create: true }) };
}

export function hazelcastSettings(clusterName: string, members: string[], overrides: Partial<HazelcastSettings> = {}): HazelcastSettings {
  return {
    clusterName,
    members,
    connectTimeoutMs: 2_000,
    operationTimeoutMs: 10_000,
    reconnect: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 },
    ...overrides,
  };
}

function make(kind: TestMember['kind'], clusterName: string, members: string[], handle: MemberHandle | undefined,
  stop: () => Promise<void>): TestMember {
  const opened: HzConnection[] = [];
  return {
    kind, clusterName, members, handle,
    settings: (o) => hazelcastSettings(clusterName, members, o),
    async client(o, opts) {
      const conn = await connect({ settings: hazelcastSettings(clusterName, members, o), logger: testLogger('test-client'), firstConnectTimeoutMs: 30_000, ...(opts?.seal ? { seal: opts.seal } : {}) });
      opened.push(conn);
      return conn;
    },
    async stop() {
      await Promise.all(opened.map((c) => c.shutdown()));
      await stop();
    },
  };
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.DOLPHIN_TEST_NO_DOCKER) return false;
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

const MAP_PREFIX = 'DOLPHIN_';

/**
 * A real member for one test file: the cluster in HZ_MEMBERS (its DOLPHIN_* maps cleared
 * first, files run one at a time), else a testcontainers member where a Docker engine answers,
 * else a member started from the jar on a free loopback port with a cluster name of its own.
 */
export async function startTestMember(): Promise<TestMember> {
  const external = process.env.HZ_MEMBERS;
  if (external) {
    const clusterName = process.env.HZ_CLUSTER_NAME ?? 'dolphin';
    const members = external.split(',').map((s) => s.trim()).filter(Boolean);
    const m = make('external', clusterName, members, undefined, async () => undefined);
    const conn = await m.client();
    for (const obj of await conn.client.getDistributedObjects()) {
      if (obj.getServiceName() === 'hz:impl:mapService' && obj.getName().startsWith(MAP_PREFIX)) {
        await (await conn.client.getMap(obj.getName())).clear();
      }
    }
    return m;
  }
  const clusterName = `dolphin-test-${randomUUID().slice(0, 8)}`;
  if (await dockerAnswers()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const { pinnedHazelcastVersion } = await import('@dolphin/hz');
    const port = await freePort();
    const container = await new GenericContainer(`hazelcast/hazelcast:${pinnedHazelcastVersion()}`)
      .withEnvironment({
        HZ_CLUSTERNAME: clusterName,
        HZ_NETWORK_PUBLICADDRESS: `127.0.0.1:${port}`,
        JAVA_OPTS: '-Dhazelcast.phone.home.enabled=false',
      })
      .withExposedPorts({ container: 5701, host: port })
      .withWaitStrategy(Wait.forLogMessage(/is STARTED/))
      .start();
    return make('container', clusterName, [`127.0.0.1:${port}`], undefined, async () => { await container.stop(); });
  }
  const port = await freePort();
  const handle = await startMember({ port, clusterName, heapMb: 256, logger: testLogger('test-member') });
  return make('jar', clusterName, [handle.address], handle, async () => { await handle.stop(15_000); });
}

export interface TestCluster {
  readonly clusterName: string;
  readonly members: MemberHandle[];
  readonly addresses: string[];
  settings(overrides?: Partial<HazelcastSettings>): HazelcastSettings;
  stop(): Promise<void>;
}

/** `size` jar members on loopback joined into one cluster (TCP-IP join over their ports). */
export async function startTestCluster(size = 3): Promise<TestCluster> {
  const clusterName = `dolphin-test-${randomUUID().slice(0, 8)}`;
  const ports: number[] = [];
  while (ports.length < size) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const members: MemberHandle[] = [];
  try {
    // One after another: the first forms the cluster, the rest join it.
    for (const port of ports) {
      members.push(await startMember({ port, clusterName, members: addresses, heapMb: 256, logger: testLogger('test-member') }));
    }
  } catch (err) {
    await Promise.all(members.map((m) => m.stop(10_000)));
    throw err;
  }
  return {
    clusterName,
    members,
    addresses,
    settings: (o) => hazelcastSettings(clusterName, addresses, o),
    async stop() {
      await Promise.all(members.map((m) => m.stop(15_000)));
    },
  };
}
