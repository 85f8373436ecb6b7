/**
 * Whether meta-health may judge yet. Its Hazelcast client connects in the background, so the
 * first cycles after a start have read no heartbeat and no data: judged, they would score every
 * one missing (M2 = M3 = 0) and say DEAD. As the safety service does, it waits for its inputs:
 * judging starts with the first cycle that read the cluster (heartbeats and data sources), or
 * once `graceMs` has passed without that — then it scores what it sees (no cluster: M4 = 0).
 * Once judging, it stays so: a later outage is judged as one, not waited out.
 */
export class WarmUp {
  private readonly graceMs: number;
  private readonly startedMs: number;
  private judgedAfterMs: number | undefined;

  constructor(graceMs: number, startedMs: number) {
    this.graceMs = graceMs;
    this.startedMs = startedMs;
  }

  /** `clusterRead`: this cycle read the heartbeats and the data sources. */
  judging(clusterRead: boolean, nowMs: number): boolean {
    if (this.judgedAfterMs === undefined && (clusterRead || nowMs - this.startedMs >= this.graceMs)) this.judgedAfterMs = nowMs - this.startedMs;
    return this.judgedAfterMs !== undefined;
  }

  /** How long it waited before its first judgement; undefined while it still waits. */
  get waitedMs(): number | undefined {
    return this.judgedAfterMs;
  }
}
