/** What a provider gets for one fetch: a signal that aborts it (timeout or shutdown) and the time. */
export interface FetchContext {
  readonly signal: AbortSignal;
  /** Epoch milliseconds of this fetch. */
  readonly nowMs: number;
}

/**
 * Where an indicator's numbers come from: `synthetic` (seeded), `replay` (a file), `http` (a
 * URL and a field mapping). A fetch resolves with a value or rejects with an Error whose message
 * names the source; retries, timeouts and the circuit breaker live outside, in resilience/.
 */
export interface Provider<T> {
  readonly name: string;
  fetch(ctx: FetchContext): Promise<T>;
}

/** One side of an order book, best level first: [price, quantity]. */
export type BookLevels = ReadonlyArray<readonly [number, number]>;
export interface OrderBook {
  readonly bids: BookLevels;
  readonly asks: BookLevels;
}
