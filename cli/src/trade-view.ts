import type { DailyPnl, TraderState } from '@dolphin/core';

const money = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Turns the trader's published state into lines a person follows: trades in, trades out, PnL. */
export class TradeView {
  private open = new Map<string, TraderState['open_positions'][number]>();
  private seen = false;
  private readonly say: (line: string) => void;

  constructor(say: (line: string) => void) {
    this.say = say;
  }

  onState(s: TraderState): void {
    const now = new Map(s.open_positions.map((p) => [`${p.symbol}:${p.opened_at}`, p]));
    if (this.seen) {
      for (const [k, p] of now) if (!this.open.has(k)) this.say(`trade: ${p.side} ${p.quantity.toFixed(6)} ${p.symbol} at ${money(p.entry_price)} (scan #${s.last_scan_number}, posture ${s.posture})`);
      for (const [k, p] of this.open) if (!now.has(k)) this.say(`trade: closed ${p.side} ${p.symbol} (scan #${s.last_scan_number}); capital ${money(s.capital)}`);
    } else if (now.size > 0) {
      this.say(`trader holds ${[...now.values()].map((p) => `${p.side} ${p.symbol}`).join(', ')}; capital ${money(s.capital)}`);
    }
    this.seen = true;
    this.open = now;
  }

  onPnl(p: DailyPnl): void {
    this.say(`pnl ${p.date}: realized ${money(p.realized_pnl)}, unrealized ${money(p.unrealized_pnl)}, ${p.trades} trades, capital ${money(p.capital)}`);
  }
}
