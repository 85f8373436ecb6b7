import type { Exf, TraderState } from '@dolphin/core';

/** The latest values the safety service watches (kept by its listeners). */
export interface WatchedValues {
  exf?: Exf;
  /** `bridge_ts` of DOLPHIN_FEATURES["latest_eigen_scan"]. */
  scanBridgeTs?: string;
  state?: TraderState;
}

export interface DerivedInputs {
  exf?: Exf;
  exfAgeMs?: number;
  drawdown?: number;
  scanAgeMs?: number;
  stateAgeMs?: number;
}

const ageMs = (iso: string | undefined, nowMs: number) => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, nowMs - t) : undefined;
};

/**
 * The trader's drawdown today: equity (capital + unrealized PnL) below the day's starting
 * equity, as a fraction of it; 0 when ahead; undefined when the state does not say.
 */
export function drawdownOf(state: TraderState | undefined): number | undefined {
  const start = state?.day_start_equity;
  if (!state || typeof start !== 'number' || !(start > 0)) return undefined;
  const unrealized = typeof state.unrealized_pnl === 'number' ? state.unrealized_pnl : 0;
  return Math.max(0, (start - (state.capital + unrealized)) / start);
}

/** Ages and the drawdown at `nowMs`, from what the listeners hold. */
export function deriveInputs(w: WatchedValues, nowMs: number): DerivedInputs {
  const out: DerivedInputs = {};
  if (w.exf) {
    out.exf = w.exf;
    const a = ageMs(w.exf._pushed_at, nowMs);
    if (a !== undefined) out.exfAgeMs = a;
  }
  const scan = ageMs(w.scanBridgeTs, nowMs);
  if (scan !== undefined) out.scanAgeMs = scan;
  const st = ageMs(w.state?.updated_at, nowMs);
  if (st !== undefined) out.stateAgeMs = st;
  const dd = drawdownOf(w.state);
  if (dd !== undefined) out.drawdown = dd;
  return out;
}
