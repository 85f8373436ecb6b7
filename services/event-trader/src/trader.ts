import { exfSchema, isoMicros, nowEpochNs, obFeaturesSchema, safetySchema, type DailyPnl, type Exf, type FeatureScan, type Logger, type ObFeatures, type Safety, type TraderState } from '@dolphin/core';
import { cents, decide, initialState, unrealized, type Decision, type DecisionInputs, type StrategyParams, type StrategyState } from '@dolphin/strategy';
import type { Ledger } from './ledger.ts';
import type { TraderMetrics } from './metrics.ts';

export interface TraderOptions {
  params: StrategyParams;
  ledger: Ledger;
  logger: Logger;
  metrics?: TraderMetrics;
  writeState(value: TraderState): Promise<void>;
  writePnl(day: string, value: DailyPnl): Promise<void>;
  /** After each decision is committed and published (tests, benchmarks). */
  onDecision?(d: Decision, scan: FeatureScan, stamps: DecisionStamps): void;
}

export interface DecisionStamps {
  received_ns: number;
  decided_ns: number;
}

/**
 * The event trader's core: each scan from the listener is decided once, in order, by the shared
 * strategy; the outcome is committed to the ledger, then published to DOLPHIN_STATE_BLUE (and
 * DOLPHIN_PNL_BLUE when capital moved). The hot path reads nothing over the network: the
 * safety posture comes from a local cache kept by its own listener.
 */
export class EventTrader {
  private state: StrategyState;
  /** The local caches the listeners keep: the hot path reads these, never the network. */
  private readonly inputs: DecisionInputs = {};
  private chain: Promise<void> = Promise.resolve();
  /** The safety input last written to the ledger (the inputs a backtest replays). */
  private recordedSafety = '';
  private readonly o: TraderOptions;

  constructor(options: TraderOptions) {
    this.o = options;
    this.state = options.ledger.state() ?? initialState(options.params);
    options.logger.info({ capital: this.state.capital, lastScan: this.state.lastScanNumber, open: this.state.position !== null }, 'trader state from the ledger');
  }

  get current(): StrategyState {
    return this.state;
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
    if (safety.success && !this.inputs.safety) this.inputs.safety = safety.data;
    if (exf.success && !this.inputs.exf) this.inputs.exf = exf.data;
    if (ob.success && !this.inputs.ob) this.inputs.ob = ob.data;
  }

  setSafety(value: Safety): void {
    this.inputs.safety = value;
  }

  setExf(value: Exf): void {
    this.inputs.exf = value;
  }

  setOb(value: ObFeatures): void {
    this.inputs.ob = value;
  }

  /** A scan from the listener; decided after every scan before it. */
  onScan(scan: FeatureScan, receivedNs = nowEpochNs()): Promise<void> {
    this.chain = this.chain.then(() => this.process(scan, receivedNs)).catch((err: unknown) => {
      this.o.logger.error({ err, scan_number: scan.scan_number }, 'scan could not be decided');
    });
    return this.chain;
  }

  /** Resolves when every scan received so far is decided and published. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async process(scan: FeatureScan, receivedNs: number): Promise<void> {
    const { params, metrics } = this.o;
    const d = decide(this.state, scan, this.inputs, params);
    const decidedNs = nowEpochNs();
    if (d.skipped) {
      metrics?.skipped.inc({ reason: d.skipped });
      return;
    }
    const updatedAt = isoMicros();
    const safety = this.inputs.safety;
    const safetyText = safety ? `${safety.posture}|${safety.size_scale}|${safety.ts}` : '';
    const changed = safety !== undefined && safetyText !== this.recordedSafety;
    // The ledger first: a crash after this line finds the scan decided and its fills on record.
    this.o.ledger.commit(d.state, d.orders, params.algoVersion, updatedAt, changed ? safety : undefined);
    if (changed) this.recordedSafety = safetyText;
    this.state = d.state;
    if (metrics) {
      metrics.decisions.inc();
      for (const o of d.orders) metrics.trades.inc({ reason: o.reason });
      const st = scan.stamps ?? {};
      if (st.file_ns !== undefined && st.put_ns !== undefined) metrics.hop.observe({ hop: 'file_to_bridge' }, (st.put_ns - st.file_ns) / 1e9);
      if (st.put_ns !== undefined) metrics.hop.observe({ hop: 'bridge_to_listener' }, Math.max(0, receivedNs - st.put_ns) / 1e9);
      metrics.hop.observe({ hop: 'listener_to_decision' }, (decidedNs - receivedNs) / 1e9);
    }
    for (const o of d.orders) {
      this.o.logger.info({ scan_number: scan.scan_number, reason: o.reason, side: o.side, symbol: o.symbol, quantity: o.quantity, price: o.price, fee: o.fee, realized: o.realized, capital: d.state.capital },
        `${o.side} ${o.symbol} (${o.reason})`);
    }
    const price = scan.assets.indexOf(params.symbol) >= 0 ? scan.asset_prices[scan.assets.indexOf(params.symbol)] : undefined;
    const unreal = unrealized(d.state, price);
    const pos = d.state.position;
    await this.o.writeState({
      capital: cents(d.state.capital),
      open_positions: pos ? [{ symbol: pos.symbol, side: pos.side, quantity: pos.quantity, entry_price: pos.entryPrice, opened_at: isoMicros(pos.entryTsNs) }] : [],
      posture: d.state.posture,
      last_scan_number: scan.scan_number,
      algo_version: params.algoVersion,
      updated_at: updatedAt,
      last_scan_ts: scan.timestamp,
      unrealized_pnl: cents(unreal),
      // The safety service's drawdown: equity (capital + unrealized) against this.
      day_start_equity: cents(d.state.dayStartEquity),
      vel_div: d.velDiv,
      day_locked: d.state.dayLocked,
      entry_blocked: d.blocked,
      stamps: { ...scan.stamps, received_ns: receivedNs, decided_ns: decidedNs },
    });
    if (d.orders.length > 0) {
      const totals = this.o.ledger.totals(d.state.day);
      await this.o.writePnl(d.state.day, {
        date: d.state.day,
        realized_pnl: cents(totals.realized),
        unrealized_pnl: cents(unreal),
        trades: totals.trades,
        capital: cents(d.state.capital),
        updated_at: updatedAt,
        fees: cents(totals.fees),
      });
    }
    this.o.onDecision?.(d, scan, { received_ns: receivedNs, decided_ns: decidedNs });
  }
}
