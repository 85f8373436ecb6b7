export { testLogger } from './logger.ts';
export { startTestMember, startTestCluster, hazelcastSettings, type TestMember, type TestCluster } from './member.ts';
export { waitFor } from './wait.ts';
