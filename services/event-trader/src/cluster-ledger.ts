import type { Logger } from '@dolphin/core';
import type { TypedMap } from '@dolphin/hz';
import { clusterEntries, CLUSTER_STATE_KEY, scanOfKey, type ClusterLedgerEntry, type ClusterStateEntry, type CommitRecord, type Ledger } from '@dolphin/ledger';

/** The cluster's copy of a colour's ledger: DOLPHIN_LEDGER_<colour> (packages/ledger cluster-records.ts). */
export const clusterLedgerMapName = (colour: string) => `DOLPHIN_LEDGER_${colour}`;

/**
 * Writes each committed decision into the cluster after the local commit and before the maps:
 * fills, posture and gap first, the state entry last (the commit point). A write that fails (the
 * cluster away) is kept and written, in order, before the next one: the cluster's copy never
 * skips a decision, it only lags while it cannot be written.
 */
export class ClusterLedger {
  private readonly pending: CommitRecord[] = [];
  private failing = false;
  /** Times a newer leader's copy refused this trader's writes. */
  refused = 0;
  private readonly map: TypedMap<ClusterLedgerEntry>;
  private readonly logger: Logger;
  private readonly epoch: () => number;

  constructor(map: TypedMap<ClusterLedgerEntry>, logger: Logger, epoch: () => number = () => 0) {
    this.map = map;
    this.logger = logger;
    this.epoch = epoch;
  }

  /** How many decisions wait to be written. */
  get lag(): number {
    return this.pending.length;
  }

  async record(c: CommitRecord): Promise<void> {
    this.pending.push(c);
    try {
      while (this.pending.length > 0) {
        const epoch = this.epoch();
        // A standby's write (epoch > 0) after a newer leader's is refused: the copy is that leader's now.
        if (epoch > 0) {
          const current = (await this.map.get(CLUSTER_STATE_KEY)) as ClusterStateEntry | undefined;
          if (current && current.epoch > epoch) {
            this.logger.error({ epoch, newer: current.epoch, dropped: this.pending.length }, `a newer leader (epoch ${current.epoch}) writes the cluster's copy of the ledger: this trader's ${this.pending.length} decision(s) are refused there`);
            this.pending.length = 0;
            this.refused++;
            return;
          }
        }
        const { rows, state } = clusterEntries(this.pending[0] as CommitRecord, epoch);
        for (const [k, v] of rows) await this.map.set(k, v);
        await this.map.set(CLUSTER_STATE_KEY, state);
        this.pending.shift();
      }
      if (this.failing) this.logger.info('the cluster copy of the ledger is written again, caught up');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.error({ err, pending: this.pending.length }, 'cannot write the cluster copy of the ledger; kept, and written before the next decision');
      this.failing = true;
    }
  }

  /**
   * Brings the local ledger up to the cluster's copy (decisions another host's trader made after
   * this ledger's last): what it adopted, or 0 when the local ledger is not behind.
   */
  async adoptInto(ledger: Ledger): Promise<{ adopted: number; from: number; to: number }> {
    const state = (await this.map.get(CLUSTER_STATE_KEY)) as ClusterStateEntry | undefined;
    const from = ledger.state()?.lastScanNumber ?? -1;
    if (!state || state.scan_number <= from) return { adopted: 0, from, to: from };
    const newer = (await this.map.keys()).filter((k) => {
      const n = scanOfKey(k);
      return n !== undefined && n > from && n <= state.scan_number;
    });
    const entries: ClusterLedgerEntry[] = [];
    for (const k of newer) {
      const e = await this.map.get(k);
      if (e) entries.push(e);
    }
    const adopted = ledger.adopt(state, entries);
    return { adopted, from, to: state.scan_number };
  }
}
