import { isoMicros, SCAN_SCHEMA_VERSION, SCAN_WINDOWS, seededRandom, type ScanRecord } from '@dolphin/core';

const BASES = ['BTC', 'ETH', 'SOL', 'BNB', 'XRP', 'ADA', 'DOGE', 'AVAX', 'DOT', 'LINK', 'TRX', 'MATIC', 'LTC', 'BCH', 'ATOM',
  'UNI', 'XLM', 'ETC', 'FIL', 'APT', 'ARB', 'OP', 'NEAR', 'ICP', 'HBAR', 'VET', 'ALGO', 'AAVE', 'MKR', 'SAND', 'MANA', 'AXS',
  'EGLD', 'THETA', 'XTZ', 'EOS', 'FTM', 'GRT', 'RUNE', 'KAVA', 'CRV', 'SNX', 'COMP', 'ZEC', 'DASH', 'NEO', 'IOTA', 'KSM', 'CHZ', 'ENJ'];

/** `n` asset symbols (BTCUSDT, ETHUSDT, …), numbered past the built-in list. */
export function assetSymbols(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${BASES[i] ?? `ALT${i}`}USDT`);
}

export interface GeneratorOptions {
  seed?: number;
  assets?: number;
  firstScanNumber?: number;
  /** Chance per scan of entering an instability regime (default 1/250: a few per hour at 5 s). */
  regimeEntry?: number;
  /** Chance per scan of leaving it (default 1/6: regimes last about six scans). */
  regimeExit?: number;
}

/**
 * Realistic-looking scans from a seeded random process: prices follow geometric random walks,
 * each window's velocity an AR(1) process; in an instability regime the short window's
 * velocity falls well below the longer one's, so `vel_div = w50_velocity − w150_velocity`
 * crosses −0.02 for a few scans at a time.
 */
export class ScanGenerator {
  private readonly rnd: () => number;
  private readonly symbols: string[];
  private readonly prices: number[];
  private readonly velocity = new Map<number, number>();
  private scanNumber: number;
  private unstable = false;
  private readonly entry: number;
  private readonly exit: number;

  constructor(options: GeneratorOptions = {}) {
    this.rnd = seededRandom(options.seed ?? 42);
    this.symbols = assetSymbols(options.assets ?? 50);
    this.prices = this.symbols.map((_, i) => (i === 0 ? 97_000 : i === 1 ? 3_400 : 0.5 + this.rnd() * 400));
    this.scanNumber = options.firstScanNumber ?? 1;
    this.entry = options.regimeEntry ?? 1 / 250;
    this.exit = options.regimeExit ?? 1 / 6;
    for (const w of SCAN_WINDOWS) this.velocity.set(w, 0);
  }

  /** Standard normal draw (Box–Muller). */
  private gauss(): number {
    const u = Math.max(this.rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rnd());
  }

  get inRegime(): boolean {
    return this.unstable;
  }

  next(epochNs: number): ScanRecord {
    this.unstable = this.unstable ? this.rnd() >= this.exit : this.rnd() < this.entry;
    const vol = this.unstable ? 0.004 : 0.0012;
    for (let i = 0; i < this.prices.length; i++) {
      this.prices[i] = (this.prices[i] as number) * Math.exp(vol * this.gauss() - (this.unstable ? 0.001 : 0));
    }
    const row: Record<string, unknown> = {
      scan_number: this.scanNumber++,
      timestamp_ns: epochNs,
      timestamp_iso: isoMicros(epochNs),
      schema_version: SCAN_SCHEMA_VERSION,
    };
    for (const w of SCAN_WINDOWS) {
      // Shorter windows react faster: larger AR step, and the regime pushes w50 down hardest.
      const speed = 50 / w;
      const shock = this.unstable ? -0.012 * speed : 0;
      const v = 0.85 * (this.velocity.get(w) as number) + shock + 0.004 * Math.sqrt(speed) * this.gauss();
      this.velocity.set(w, v);
      const lambda = 1.5 + 3 * speed * (this.unstable ? 1.8 : 1) + 0.2 * this.gauss();
      row[`w${w}_lambda_max`] = Math.max(0.01, lambda);
      row[`w${w}_velocity`] = v;
      row[`w${w}_rotation`] = 0.1 * this.gauss();
      row[`w${w}_instability`] = Math.max(0, (this.unstable ? 0.6 : 0.15) + 0.1 * this.gauss());
    }
    row.assets = [...this.symbols];
    row.asset_prices = this.prices.map((p) => Math.round(p * 1e6) / 1e6);
    row.eigenvalues = Array.from({ length: 5 }, (_, i) => Math.max(0.001, (5 - i) * 0.6 + 0.1 * this.gauss())).sort((a, b) => b - a);
    return row as ScanRecord;
  }
}
