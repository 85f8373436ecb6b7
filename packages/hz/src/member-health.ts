import { z } from 'zod';

/** What a member's HEALTH_CHECK endpoint (`/hazelcast/health`) says about itself and its cluster. */
export const memberHealthSchema = z.looseObject({
  nodeState: z.string(),
  clusterState: z.string(),
  clusterSafe: z.boolean(),
  migrationQueueSize: z.number(),
  clusterSize: z.number().int(),
});
export type MemberHealth = z.infer<typeof memberHealthSchema>;

/** The member's health, or undefined when it does not answer within `timeoutMs`. */
export async function memberHealth(address: string, timeoutMs = 1_000): Promise<MemberHealth | undefined> {
  try {
    const res = await fetch(`http://${address}/hazelcast/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const parsed = memberHealthSchema.safeParse(await res.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
