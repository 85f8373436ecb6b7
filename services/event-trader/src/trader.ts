import { exfSchema, isDolphinError, isoMicros, nowEpochNs, obFeaturesSchema, safetySchema, type DailyPnl, type Exf, type FeatureScan, type Logger, type ObFeatures, type Safety, type ScanRecord, type TraderState } from '@dolphin/core';
import { cents, decide, initialState, unrealized, type Decision, type DecisionInputs, type StrategyParams, type StrategyState } from '@dolphin/strategy';
import { LedgerErrors, type Ledger, type CommitRecord } from '@dolphin/ledger';
import type { GapFiller, ScanSource } from './gap-filler.ts';
import type { TraderMetrics } from './metrics.ts';

export interface TraderOptions {
  params: StrategyParams;
  ledger: Ledger;
  logger: Logger;
  metrics?: TraderMetrics;
  writeState(value: TraderState): Promise<void>;
  writePnl(day: string, value: DailyPnl): Promise<void>;
  /** A standby's lease: throws when this trader may not write now (checked right before each commit). */
  fence?(): number;
  /** The cluster's copy of each committed decision (ClusterLedger.record); never throws. */
  replicate?(c: CommitRecord): Promise<void>;
  /** Where scans it did not receive are found (scan files, history); without it a gap is only recorded. */
  gaps?: GapFiller;
  /** A scan dated further ahead of the clock than this is refused, not decided (default 5 s). */
  maxClockSkewMs?: number;
  /** While the ledger cannot be written, it is tried again this often (default 2 s). */
  retryMs?: number;
  /** After each decision is committed and published (tests, benchmarks). */
  onDecision?(d: Decision, scan: ScanRecord, stamps: DecisionStamps): void;
}

export interface DecisionStamps {
  received_ns: number;
  decided_ns: number;
}

/** The ledger cannot be written: the trader stops deciding until it can, then catches up. */
interface Halt {
  code: string;
  reason: string;
  since: string;
}

const LEDGER_CODES: readonly string[] = Object.values(LedgerErrors).map((e) => e.code);
const isLedgerDown = (err: unknown) => LEDGER_CODES.some((c) => isDolphinError(err, c));
/** At most one warning this often about scans refused for their time. */
const REFUSE_WARN_MS = 10_000;

/**
 * The event trader's core: each scan from the listener is decided once, in order, by the shared
 * strategy; the outcome is committed to the ledger, then published to DOLPHIN_STATE_BLUE (and
 * DOLPHIN_PNL_BLUE when capital moved). The hot path reads nothing over the network: the
 * safety posture comes from a local cache kept by its own listener.
 *
 * Nothing is skipped silently. A scan whose number does not follow the last one decided means
 * scans may have been missed (the trader or the cluster was down): they are found in the scan
 * files and the history and decided first, in order; numbers found nowhere are recorded in the
 * ledger as a gap, with the reason. When the ledger cannot be written (disk full, read-only),
 * the trader halts with that reason in its state and, once it can write again, decides every
 * scan written meanwhile.
 */
export class EventTrader {
  private state: StrategyState;
  /** The local caches the listeners keep: the hot path reads these, never the network. */
  private readonly inputs: DecisionInputs = {};
  private chain: Promise<void> = Promise.resolve();
  /** The safety input last written to the ledger (the inputs a backtest replays). */
  private recordedSafety = '';
  private halted: Halt | undefined;
  /** The newest scan received while halted (decided on resume if no file has it). */
  private latestSeen: ScanRecord | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private tally: { decided: number; missed: number; lastGapAt: string | undefined };
  /** What the last published state was built from. */
  private last: { scan: ScanRecord; d: Decision; receivedNs: number; decidedNs: number; updatedAt: string } | undefined;
  private refusedRun = { count: 0, warnedAt: 0 };
  private readonly o: TraderOptions;

  constructor(options: TraderOptions) {
    this.o = options;
    // Fields added to the strategy state since a ledger was written take their initial values.
    const stored = options.ledger.state();
    this.state = stored ? { ...initialState(options.params), ...stored } : initialState(options.params);
    this.tally = options.ledger.tally();
    options.logger.info({ capital: this.state.capital, lastScan: this.state.lastScanNumber, open: this.state.position !== null, decided: this.tally.decided, missed: this.tally.missed }, 'trader state from the ledger');
    // A ledger that can be read but not written: start halted, and catch up once it can be.
    if (options.ledger.unwritable) this.halt(options.ledger.unwritable, undefined);
  }

  get current(): StrategyState {
    return this.state;
  }

  /** Why the trader is not deciding, when it is not. */
  get haltedBecause(): string | undefined {
    return this.halted?.reason;
  }

  /** The safety posture in the local cache (what the next decision will see). */
  get safetyInput(): Safety | undefined {
    return this.inputs.safety as Safety | undefined;
  }

  /** The input caches, carried across a dev-mode restart (the listeners refresh them at once). */
  get inputCaches(): { safety?: unknown; exf?: unknown; ob?: unknown } {
    return { safety: this.inputs.safety, exf: this.inputs.exf, ob: this.inputs.ob };
  }

  /** Puts back caches a previous process had, each only if it still meets the contract and none came since. */
  restoreInputCaches(v: { safety?: unknown; exf?: unknown; ob?: unknown }): void {
    const safety = safetySchema.safeParse(v.safety);
    const exf = exfSchema.safeParse(v.exf);
    const ob = obFeaturesSchema.safeParse(v.ob);
    if (safety.success && !this.inputs.safety) this.setSafety(safety.data);
    if (exf.success && !this.inputs.exf) this.setExf(exf.data);
    if (ob.success && !this.inputs.ob) this.setOb(ob.data);
  }

  /**
   * Input caches take only values not dated beyond this host's clock: a posture from 2099 would
   * never go stale. False (refused, counted, said) for one that is.
   */
  setSafety(value: Safety): boolean {
    if (this.refuseInput('safety', value.ts)) return false;
    this.inputs.safety = value;
    return true;
  }

  setExf(value: Exf): boolean {
    if (this.refuseInput('exf', value._pushed_at)) return false;
    this.inputs.exf = value;
    return true;
  }

  setOb(value: ObFeatures): boolean {
    if (this.refuseInput('ob', value._pushed_at)) return false;
    this.inputs.ob = value;
    return true;
  }

  private refuseInput(what: string, iso: string): boolean {
    const aheadMs = Date.parse(iso) - Date.now();
    if (!(aheadMs > (this.o.maxClockSkewMs ?? 5_000))) return false;
    this.o.metrics?.refused.inc({ reason: `future_${what}` });
    this.o.logger.warn({ input: what, ts: iso, ahead_s: Math.round(aheadMs / 1000) }, `${what} dated ${Math.round(aheadMs / 1000)} s ahead of this host's clock refused (security.maxClockSkewMs); the last one believed stays`);
    return true;
  }

  /** A scan from the listener; decided after every scan before it. */
  onScan(scan: FeatureScan, receivedNs = nowEpochNs()): Promise<void> {
    return this.enqueue(() => this.process(scan, receivedNs), scan.scan_number);
  }

  /**
   * At start: every scan written since the last one decided (while the trader was down), from the
   * scan files and the history, in order. A new ledger starts from the next live scan instead:
   * history is not news.
   */
  catchUp(): Promise<void> {
    return this.enqueue(async () => {
      if (this.halted || this.state.lastScanTsNs === 0) return;
      try {
        await this.fill(this.state.lastScanTsNs, undefined, 'while the trader was down');
      } catch (err) {
        if (!isLedgerDown(err)) throw err;
        this.halt(err as Error, undefined);
      }
    });
  }

  /** Resolves when every scan received so far is decided and published. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Stops retrying a halted ledger (shutdown). */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    return this.chain;
  }

  private enqueue(work: () => Promise<void>, scanNumber?: number): Promise<void> {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      this.o.logger.error({ err, scan_number: scanNumber }, 'scan could not be decided');
    });
    return this.chain;
  }

  private async process(scan: ScanRecord & { stamps?: Record<string, number> }, receivedNs: number): Promise<void> {
    if (this.halted) {
      if (!this.latestSeen || scan.timestamp_ns > this.latestSeen.timestamp_ns) this.latestSeen = scan;
      return;
    }
    if (this.refuseFuture(scan)) return;
    try {
      // Not the next scan in line: others may have been missed. Decide them first, in order.
      if (this.o.gaps && this.state.lastScanTsNs > 0 && scan.timestamp_ns > this.state.lastScanTsNs && scan.scan_number !== this.state.lastScanNumber + 1) {
        await this.fill(this.state.lastScanTsNs, scan.timestamp_ns, 'between two scans received');
      }
      await this.decideOne(scan, receivedNs, true);
    } catch (err) {
      if (!isLedgerDown(err)) throw err;
      this.halt(err as Error, scan);
    }
  }

  /** A scan dated beyond the clock (plus skew) is not believed: refused, counted, said. */
  private refuseFuture(scan: ScanRecord): boolean {
    const skewNs = (this.o.maxClockSkewMs ?? 5_000) * 1e6;
    const aheadNs = scan.timestamp_ns - nowEpochNs();
    if (aheadNs <= skewNs) return false;
    this.o.metrics?.refused.inc({ reason: 'future' });
    this.refusedRun.count++;
    const now = Date.now();
    if (now - this.refusedRun.warnedAt >= REFUSE_WARN_MS) {
      this.o.logger.warn({ scan_number: scan.scan_number, scan_ts: isoMicros(scan.timestamp_ns), ahead_s: Math.round(aheadNs / 1e9), refused: this.refusedRun.count },
        `scan dated ${Math.round(aheadNs / 1e9)} s ahead of this host's clock refused (security.maxClockSkewMs ${this.o.maxClockSkewMs ?? 5_000}); ${this.refusedRun.count} so refused since the last warning`);
      this.refusedRun = { count: 0, warnedAt: now };
    }
    return true;
  }

  /** Decides the scans strictly between the two times found by the gap filler, in order. */
  private async fill(afterNs: number, beforeNs: number | undefined, why: string): Promise<void> {
    const gaps = this.o.gaps;
    if (!gaps) return;
    const from = this.state.lastScanNumber;
    const by: Record<ScanSource, number> = { files: 0, history: 0 };
    for await (const { scan, source } of gaps.between(afterNs, beforeNs)) {
      if (this.closed) break;
      if (scan.timestamp_ns <= this.state.lastScanTsNs || this.refuseFuture(scan)) continue;
      await this.decideOne(scan, nowEpochNs(), false);
      by[source]++;
      this.o.metrics?.filled.inc({ source });
    }
    const n = by.files + by.history;
    if (n > 0) {
      this.o.logger.info({ scans: n, from_files: by.files, from_history: by.history, after_scan: from, to_scan: this.state.lastScanNumber },
        `decided ${n} scan(s) missed ${why}, in order (${by.files} from the scan files, ${by.history} from the scan history)`);
      await this.publishState();
    }
  }

  /** One scan decided, committed, and (live, or when it traded) published. */
  private async decideOne(scan: ScanRecord & { stamps?: Record<string, number> }, receivedNs: number, live: boolean): Promise<void> {
    const { params, metrics } = this.o;
    const prev = { n: this.state.lastScanNumber, ts: this.state.lastScanTsNs };
    const d = decide(this.state, scan, this.inputs, params);
    const decidedNs = nowEpochNs();
    if (d.skipped) {
      metrics?.skipped.inc({ reason: d.skipped });
      return;
    }
    const updatedAt = isoMicros();
    // Still not in line after looking everywhere: the numbers between were never found.
    const missing = prev.ts > 0 && scan.scan_number > prev.n + 1 ? scan.scan_number - prev.n - 1 : 0;
    const gap = missing > 0 ? {
      after_scan_number: prev.n, after_ts_ns: prev.ts, before_scan_number: scan.scan_number, before_ts_ns: scan.timestamp_ns, missing,
      reason: (await this.o.gaps?.explain(prev.n + 1, scan.scan_number - 1, prev.ts, scan.timestamp_ns)) ?? 'no scan folder or history to look in',
      recorded_at: updatedAt,
    } : undefined;
    const safety = this.inputs.safety;
    const safetyText = safety ? `${safety.posture}|${safety.size_scale}|${safety.ts}` : '';
    const changed = safety !== undefined && safetyText !== this.recordedSafety;
    // A standby that lost its lease decides nothing more (the next leader goes on from the cluster's copy).
    if (this.o.fence) {
      try {
        this.o.fence();
      } catch (err) {
        this.o.logger.warn({ err, scan_number: scan.scan_number }, 'not the leader: the decision is dropped, not committed');
        return;
      }
    }
    // The ledger first: a crash after this line finds the scan decided and its fills on record.
    this.o.ledger.commit(d.state, d.orders, params.algoVersion, updatedAt, changed ? safety : undefined, gap);
    // Then the cluster's copy (before the maps): a trader on another host can go on from it.
    await this.o.replicate?.({ state: d.state, orders: d.orders, algoVersion: params.algoVersion, updatedAt, safety: changed ? safety : undefined, gap });
    if (changed) this.recordedSafety = safetyText;
    this.state = d.state;
    this.tally.decided++;
    if (gap) {
      this.tally.missed += gap.missing;
      this.tally.lastGapAt = gap.recorded_at;
      metrics?.missed.inc(gap.missing);
      this.o.logger.error({ after_scan: gap.after_scan_number, before_scan: gap.before_scan_number, missing: gap.missing, reason: gap.reason },
        `${gap.missing} scan(s) between #${gap.after_scan_number} and #${gap.before_scan_number} could not be decided: ${gap.reason}`);
    }
    if (metrics) {
      metrics.decisions.inc();
      for (const o of d.orders) metrics.trades.inc({ reason: o.reason });
      const st = scan.stamps ?? {};
      if (live) {
        if (st.file_ns !== undefined && st.put_ns !== undefined) metrics.hop.observe({ hop: 'file_to_bridge' }, (st.put_ns - st.file_ns) / 1e9);
        if (st.put_ns !== undefined) metrics.hop.observe({ hop: 'bridge_to_listener' }, Math.max(0, receivedNs - st.put_ns) / 1e9);
        metrics.hop.observe({ hop: 'listener_to_decision' }, (decidedNs - receivedNs) / 1e9);
      }
    }
    for (const o of d.orders) {
      this.o.logger.info({ scan_number: scan.scan_number, reason: o.reason, side: o.side, symbol: o.symbol, quantity: o.quantity, price: o.price, fee: o.fee, realized: o.realized, capital: d.state.capital },
        `${o.side} ${o.symbol} (${o.reason})`);
    }
    this.last = { scan, d, receivedNs, decidedNs, updatedAt };
    // A scan filled in from the files is published only when it traded (and the last one, by fill()).
    if (live || d.orders.length > 0 || gap) await this.publishState();
    if (d.orders.length > 0) {
      const totals = this.o.ledger.totals(d.state.day);
      await this.o.writePnl(d.state.day, {
        date: d.state.day,
        realized_pnl: cents(totals.realized),
        unrealized_pnl: cents(this.unrealizedOf(scan, d.state)),
        trades: totals.trades,
        capital: cents(d.state.capital),
        updated_at: updatedAt,
        fees: cents(totals.fees),
      });
    }
    this.o.onDecision?.(d, scan, { received_ns: receivedNs, decided_ns: decidedNs });
  }

  private unrealizedOf(scan: ScanRecord, s: StrategyState): number {
    const i = scan.assets.indexOf(this.o.params.symbol);
    return unrealized(s, i >= 0 ? scan.asset_prices[i] : undefined);
  }

  /** DOLPHIN_STATE_BLUE from the last decision (and the halt, while there is one). */
  private async publishState(): Promise<void> {
    const { params } = this.o;
    const s = this.state;
    const pos = s.position;
    const l = this.last;
    const stamps = l ? { ...(l.scan as { stamps?: Record<string, number> }).stamps, received_ns: l.receivedNs, decided_ns: l.decidedNs } : undefined;
    const value: TraderState = {
      capital: cents(s.capital),
      open_positions: pos ? [{ symbol: pos.symbol, side: pos.side, quantity: pos.quantity, entry_price: pos.entryPrice, opened_at: isoMicros(pos.entryTsNs) }] : [],
      posture: s.posture,
      last_scan_number: s.lastScanNumber,
      algo_version: params.algoVersion,
      updated_at: this.halted ? isoMicros() : (l?.updatedAt ?? isoMicros()),
      ...(s.lastScanTsNs > 0 ? { last_scan_ts: isoMicros(s.lastScanTsNs) } : {}),
      ...(l ? { unrealized_pnl: cents(this.unrealizedOf(l.scan, s)), vel_div: l.d.velDiv, entry_blocked: l.d.blocked } : {}),
      // The safety service's drawdown: equity (capital + unrealized) against this.
      day_start_equity: cents(s.dayStartEquity),
      day_locked: s.dayLocked,
      ...(stamps ? { stamps } : {}),
      scans_decided: this.tally.decided,
      scans_missed: this.tally.missed,
    };
    if (this.tally.lastGapAt) value.last_gap_at = this.tally.lastGapAt;
    if (this.halted) value.halted = { ...this.halted };
    await this.o.writeState(value);
  }

  /** The ledger cannot be written: stop deciding, say why (log, state), and try again every retryMs. */
  private halt(err: Error, scan: ScanRecord | undefined): void {
    const code = (err as { code?: string }).code ?? 'DOLPHIN_TRADER_LEDGER_IO';
    if (!this.halted) {
      this.o.logger.error({ code, err }, `trading halted: ${err.message}; the scans that come meanwhile are decided once the ledger can be written`);
      this.halted = { code, reason: err.message, since: isoMicros() };
      this.o.metrics?.halted.set(1);
    }
    if (scan && (!this.latestSeen || scan.timestamp_ns > this.latestSeen.timestamp_ns)) this.latestSeen = scan;
    void this.publishState().catch((e: unknown) => this.o.logger.warn({ err: e }, 'could not publish the halted state'));
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.enqueue(() => this.resume());
    }, this.o.retryMs ?? 2_000);
    this.retryTimer.unref();
  }

  /** Tries the ledger; once it can be written, decides everything written since the last scan decided. */
  private async resume(): Promise<void> {
    const h = this.halted;
    if (!h || this.closed) return;
    try {
      this.o.ledger.probe();
    } catch (err) {
      if (!isLedgerDown(err)) throw err;
      // Still down: keep the state fresh with the reason (health reads it), and try again.
      void this.publishState().catch(() => undefined);
      this.scheduleRetry();
      return;
    }
    this.halted = undefined;
    this.o.metrics?.halted.set(0);
    const before = this.tally.decided;
    try {
      if (this.state.lastScanTsNs > 0) await this.fill(this.state.lastScanTsNs, undefined, 'while the ledger could not be written');
      const seen = this.latestSeen;
      this.latestSeen = undefined;
      if (seen && seen.timestamp_ns > this.state.lastScanTsNs) await this.decideOne(seen, nowEpochNs(), true);
    } catch (err) {
      if (!isLedgerDown(err)) throw err;
      this.halt(err as Error, undefined);
      return;
    }
    this.o.logger.warn({ since: h.since, decided: this.tally.decided - before }, `ledger writable again (halted since ${h.since}: ${h.code}); decided ${this.tally.decided - before} scan(s) written meanwhile`);
    await this.publishState();
  }
}
