import type { PositionRecord } from './db.ts';

export interface ModelSummary {
  model: string;
  days: number;
  initial_capital: number;
  final_equity: number | null;
  return_pct: number | null;
  max_drawdown_pct: number;
  max_drawdown_peak: string | null;
  max_drawdown_trough: string | null;
  /** Daily returns' mean over their standard deviation, × √365 (crypto trades every day); null under two days. */
  sharpe: number | null;
  trades: number;
  win_rate: number | null;
  fees: number;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * A model's totals over a job: return, maximum drawdown (over every action and day end, with
 * when it peaked and bottomed), Sharpe of the daily returns, closed trades, win rate, fees.
 */
export function summarize(model: string, initialCapital: number, days: ReadonlyArray<{ date: string; end_equity: number }>, actions: ReadonlyArray<Pick<PositionRecord, 'action' | 'portfolio_value' | 'ts' | 'realized' | 'fee'>>): ModelSummary {
  const curve: Array<{ at: string; v: number }> = [];
  const ends = new Map(days.map((d) => [d.date, d.end_equity]));
  let lastDate = '';
  for (const a of [...actions].sort((x, y) => (x.ts < y.ts ? -1 : 1))) {
    const date = a.ts.slice(0, 10);
    if (lastDate && date !== lastDate && ends.has(lastDate)) curve.push({ at: `${lastDate}T23:59:59Z`, v: ends.get(lastDate) as number });
    lastDate = date;
    curve.push({ at: a.ts, v: a.portfolio_value });
  }
  if (lastDate && ends.has(lastDate)) curve.push({ at: `${lastDate}T23:59:59Z`, v: ends.get(lastDate) as number });
  // Before the first action the model stands at its initial capital: the start of its first day.
  let peak = { at: (days[0] ? `${days[0].date}T00:00:00Z` : null) as string | null, v: initialCapital };
  let worst = { pct: 0, peak: null as string | null, trough: null as string | null };
  for (const p of curve) {
    if (p.v > peak.v) peak = { at: p.at, v: p.v };
    const dd = (peak.v - p.v) / peak.v;
    if (dd > worst.pct) worst = { pct: dd, peak: peak.at, trough: p.at };
  }
  const equities = [initialCapital, ...days.map((d) => d.end_equity)];
  const returns = equities.slice(1).map((e, i) => e / (equities[i] as number) - 1);
  let sharpe: number | null = null;
  if (returns.length >= 2) {
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const sd = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / (returns.length - 1));
    sharpe = sd > 0 ? r4((mean / sd) * Math.sqrt(365)) : null;
  }
  const exits = actions.filter((a) => a.action === 'buy');
  const final = days.at(-1)?.end_equity ?? null;
  return {
    model,
    days: days.length,
    initial_capital: initialCapital,
    final_equity: final,
    return_pct: final === null ? null : r4(((final - initialCapital) / initialCapital) * 100),
    max_drawdown_pct: r4(worst.pct * 100),
    max_drawdown_peak: worst.peak,
    max_drawdown_trough: worst.trough,
    sharpe,
    trades: exits.length,
    win_rate: exits.length === 0 ? null : r4(exits.filter((a) => a.realized > 0).length / exits.length),
    fees: Math.round(actions.reduce((s, a) => s + a.fee, 0) * 100) / 100,
  };
}
