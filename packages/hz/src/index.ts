export { HzErrors } from './errors.ts';
export { withTimeout } from './timeout.ts';
export { freePort, portAnswers } from './ports.ts';
export { REPO_ROOT, MEMBER_CONFIG_FILE, pinnedHazelcastVersion, resolveMemberJar, resolveJava } from './member-jar.ts';
export { startMember, memberJvmArgs, type MemberOptions, type MemberHandle, type MemberExit } from './member-launcher.ts';
export { connect, clientConfig, type ConnectOptions, type HzConnection, type HazelcastSettings } from './client-factory.ts';
export { TypedMap, openMap, openContractMap, type SchemaOf } from './typed-map.ts';
export { watchMap, type Watch, type WatchOptions, type KeyUpdate, type UpdateSource } from './listener.ts';
export { HeartbeatWriter, type HeartbeatOptions } from './heartbeat.ts';
