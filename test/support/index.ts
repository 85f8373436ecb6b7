export { testLogger } from './logger.ts';
export { startTestMember, startTestCluster, hazelcastSettings, testSeal, type TestMember, type TestCluster } from './member.ts';
export { waitFor } from './wait.ts';
export { pythonWithHazelcast, PY_CLIENT_SCRIPT } from './python.ts';
export { spawnCollecting, type SpawnedProcess, type LineRecord } from './processes.ts';
export { tcpSocketsOf, isLoopbackOrUnbound, type TcpSocket } from './sockets.ts';
export { startTestSupervisor, type TestSupervisor } from './supervisor.ts';
export { startTestHosts, testHostsUnavailable, type TestHost, type TestHosts, type HostProcess, type HostRunResult, type HostRunOptions } from './test-hosts.ts';
export { bootSystemdHost, systemdHostUnavailable, type SystemdHost, type BootOptions, type RunOptions, type RunResult, type ShutdownReport } from './systemd-host.ts';
