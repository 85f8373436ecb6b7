import { describe, expect, it } from 'vitest';
import { summarize } from './summary.ts';

const act = (ts: string, action: 'buy' | 'sell' | 'no_trade', v: number, realized = 0, fee = 1) => ({ ts, action, portfolio_value: v, realized, fee });

describe('model summary', () => {
  it('return, drawdown with its peak and trough, Sharpe of daily returns, trades and win rate', () => {
    const days = [{ date: '2026-09-01', end_equity: 1_010 }, { date: '2026-09-02', end_equity: 990 }, { date: '2026-09-03', end_equity: 1_030 }];
    const actions = [
      act('2026-09-01T01:00:00Z', 'sell', 999), act('2026-09-01T02:00:00Z', 'buy', 1_010, 11),
      act('2026-09-02T01:00:00Z', 'sell', 1_009), act('2026-09-02T05:00:00Z', 'buy', 980, -29),
      act('2026-09-03T23:00:00Z', 'no_trade', 1_030, 0, 0),
    ];
    const s = summarize('m', 1_000, days, actions);
    expect(s).toMatchObject({ days: 3, final_equity: 1_030, return_pct: 3, trades: 2, win_rate: 0.5, fees: 4 });
    // Peak 1,010 (end of the first day), trough 980 (the stop on the second): 2.9703 %.
    expect(s.max_drawdown_pct).toBeCloseTo(2.9703, 4);
    expect(s.max_drawdown_peak).toBe('2026-09-01T02:00:00Z');
    expect(s.max_drawdown_trough).toBe('2026-09-02T05:00:00Z');
    const r = [0.01, 990 / 1_010 - 1, 1_030 / 990 - 1];
    const mean = r.reduce((a, b) => a + b, 0) / 3;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    expect(s.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(365), 3);
  });

  it('one day: no Sharpe; no exits: no win rate; a loss from the start peaks at the first day', () => {
    const s = summarize('m', 1_000, [{ date: '2026-09-01', end_equity: 950 }], [act('2026-09-01T03:00:00Z', 'sell', 950)]);
    expect(s).toMatchObject({ sharpe: null, win_rate: null, trades: 0, return_pct: -5, max_drawdown_pct: 5, max_drawdown_peak: '2026-09-01T00:00:00Z' });
  });
});
