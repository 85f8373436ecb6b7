import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { makeError, type DolphinError } from '@dolphin/core';
import type { DecisionInputs, Order, StrategyState } from '@dolphin/strategy';
import { LedgerErrors } from './errors.ts';
import type { ClusterLedgerEntry, ClusterStateEntry } from './cluster-records.ts';

/** The scan an entry of the cluster's copy belongs to. */
function scanOf(e: ClusterLedgerEntry): number {
  return e.kind === 'gap' ? e.before_scan_number : e.scan_number;
}

/** The safety posture a decision saw (what decide() reads of it). */
export type SafetyInput = NonNullable<DecisionInputs['safety']>;

/** From `fromScanTsNs` on, decisions saw `safety` (until the next row). */
export interface InputRow {
  fromScanTsNs: number;
  safety: SafetyInput;
}

export interface FillRow {
  id: number;
  scan_ts_ns: number;
  scan_number: number;
  day: string;
  symbol: string;
  side: 'SELL' | 'BUY';
  reason: string;
  quantity: number;
  price: number;
  notional: number;
  fee: number;
  realized: number;
  capital_after: number;
}

/** Scans that could not be decided: between two decided scans, numbers that were never found. */
export interface GapRow {
  id: number;
  after_scan_number: number;
  after_ts_ns: number;
  before_scan_number: number;
  before_ts_ns: number;
  /** How many scan numbers are missing. */
  missing: number;
  reason: string;
  recorded_at: string;
}

export interface DayTotals {
  realized: number;
  fees: number;
  /** Closed trades (exits). */
  trades: number;
}

/** The ledger's tables (created when missing). */
const SCHEMA = `
  pragma journal_mode = wal;
  pragma synchronous = normal;
  pragma foreign_keys = on;
  create table if not exists trader_state (
    id integer primary key check (id = 1),
    last_scan_ts_ns real not null, -- epoch ns as the float64 the scan carries (int64 would not read back as a number)
    last_scan_number integer not null,
    algo_version text not null,
    state text not null,
    updated_at text not null
  );
  create table if not exists fills (
    id integer primary key autoincrement,
    scan_ts_ns real not null,
    scan_number integer not null,
    day text not null,
    symbol text not null,
    side text not null check (side in ('SELL', 'BUY')),
    reason text not null,
    quantity real not null,
    price real not null,
    notional real not null,
    fee real not null,
    realized real not null,
    capital_after real not null,
    unique (scan_ts_ns, side)
  );
  create index if not exists fills_day on fills (day);
  -- The inputs decisions saw, one row each time they changed: a backtest replays the same
  -- scans with the same inputs and so makes the same decisions.
  create table if not exists inputs (
    from_scan_ts_ns real primary key,
    safety text not null
  );
  -- Scans that could not be decided (not in the scan folder, its quarantine or the history):
  -- recorded with the reason, so a gap is never silent.
  create table if not exists gaps (
    id integer primary key autoincrement,
    after_scan_number integer not null,
    after_ts_ns real not null,
    before_scan_number integer not null,
    before_ts_ns real not null,
    missing integer not null,
    reason text not null,
    recorded_at text not null
  );
  -- One row, rewritten to learn whether the ledger can be written again after a failure.
  create table if not exists probe (id integer primary key check (id = 1), at text not null);
`;

interface Reads {
  readState: StatementSync;
  dayTotals: StatementSync;
  counts: StatementSync;
}

interface Writes {
  saveState: StatementSync;
  insertFill: StatementSync;
  insertInput: StatementSync;
  insertGap: StatementSync;
  probe: StatementSync;
}

function prepareReads(db: DatabaseSync): Reads {
  // A ledger from before the gaps were recorded (opened read-only, so not migrated) has none.
  const hasGaps = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'gaps'").get() !== undefined;
  const hasCount = (db.prepare("select name from pragma_table_info('trader_state')").all() as Array<{ name: string }>).some((c) => c.name === 'scans_decided');
  return {
    readState: db.prepare('select state from trader_state where id = 1'),
    dayTotals: db.prepare(`
      select coalesce(sum(realized), 0) as realized, coalesce(sum(fee), 0) as fees,
             coalesce(sum(case when side = 'BUY' then 1 else 0 end), 0) as trades
      from fills where day = ?`),
    counts: db.prepare(`
      select ${hasCount ? '(select coalesce(max(scans_decided), 0) from trader_state)' : '0'} as decided,
             ${hasGaps ? '(select coalesce(sum(missing), 0) from gaps)' : '0'} as missed,
             ${hasGaps ? '(select max(recorded_at) from gaps)' : 'null'} as last_gap_at`),
  };
}

function prepareWrites(db: DatabaseSync): Writes {
  return {
    saveState: db.prepare(`
      insert into trader_state (id, last_scan_ts_ns, last_scan_number, algo_version, state, updated_at, scans_decided)
      values (1, ?, ?, ?, ?, ?, 1)
      on conflict (id) do update set last_scan_ts_ns = excluded.last_scan_ts_ns, last_scan_number = excluded.last_scan_number,
        algo_version = excluded.algo_version, state = excluded.state, updated_at = excluded.updated_at,
        scans_decided = trader_state.scans_decided + 1`),
    insertFill: db.prepare(`
      insert into fills (scan_ts_ns, scan_number, day, symbol, side, reason, quantity, price, notional, fee, realized, capital_after)
      values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertInput: db.prepare('insert or replace into inputs (from_scan_ts_ns, safety) values (?, ?)'),
    insertGap: db.prepare(`
      insert into gaps (after_scan_number, after_ts_ns, before_scan_number, before_ts_ns, missing, reason, recorded_at)
      values (?, ?, ?, ?, ?, ?, ?)`),
    probe: db.prepare('insert or replace into probe (id, at) values (1, ?)'),
  };
}

/**
 * The trader's ledger in SQLite (WAL): the source of truth. Each scan's outcome — the strategy
 * state after it and any fills — is committed in one transaction before any map is written, so
 * after a crash the state comes back from here and a scan already decided is not traded again.
 *
 * synchronous=NORMAL: in WAL mode a commit survives the process being killed (what the tests
 * do); only a power loss can drop the last commits. Node's built-in SQLite: no native build.
 */
export class Ledger {
  private db!: DatabaseSync;
  private reads!: Reads;
  /** Undefined while the ledger can only be read (see `unwritable`). */
  private writes: Writes | undefined;
  /** Why the ledger is open read-only: it could not be opened for writing (disk full, read-only). */
  private unwritableError: DolphinError | undefined;
  readonly file: string;

  /**
   * Opens (and creates) the ledger for writing. When the disk will not let it (full, read-only),
   * an existing ledger is opened read-only instead — its state can be read, nothing written —
   * and `unwritable` says why; `probe()` opens it for writing again once it can.
   */
  constructor(file: string) {
    this.file = file;
    try {
      this.openWritable();
    } catch (err) {
      const e = ledgerError(err, file);
      if (e === err || !existsSync(file)) throw e; // not the disk, or nothing to read
      this.db?.close();
      this.openReadOnly(e as DolphinError);
    }
  }

  /** Why nothing can be written, when the ledger is open read-only. */
  get unwritable(): DolphinError | undefined {
    return this.unwritableError;
  }

  private openWritable(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new DatabaseSync(this.file);
    this.db.exec(SCHEMA);
    // Added after the first schema: how many scans this ledger has decided.
    const cols = this.db.prepare('select name from pragma_table_info(\'trader_state\')').all() as Array<{ name: string }>;
    if (!cols.some((c) => c.name === 'scans_decided')) this.db.exec('alter table trader_state add column scans_decided integer not null default 0');
    this.reads = prepareReads(this.db);
    this.writes = prepareWrites(this.db);
    // SQLite opens a file it may not write read-only without a word: find out now, not at the first scan.
    this.writes.probe.run(new Date().toISOString());
    this.unwritableError = undefined;
  }

  private openReadOnly(why: DolphinError): void {
    // immutable: a WAL ledger on a read-only file system cannot get its shared-memory file, and
    // nothing writes it while this one cannot.
    const url = pathToFileURL(this.file);
    url.search = 'immutable=1';
    this.db = new DatabaseSync(url, { readOnly: true });
    this.reads = prepareReads(this.db);
    this.writes = undefined;
    this.unwritableError = why;
  }

  private writable(): Writes {
    if (this.writes === undefined) throw this.unwritableError ?? new Error(`ledger ${this.file} is not writable`);
    return this.writes;
  }

  /** The state after the last scan decided, or undefined for a new ledger. */
  state(): StrategyState | undefined {
    const row = this.reads.readState.get() as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as StrategyState) : undefined;
  }

  /**
   * Commits one scan's outcome: the new state and its fills, all or nothing; with `safety` when
   * the posture it was decided with differs from the last one recorded, and `gap` when scans
   * before it could not be found.
   */
  commit(state: StrategyState, orders: readonly Order[], algoVersion: string, updatedAt: string, safety?: SafetyInput, gap?: Omit<GapRow, 'id'>): void {
    this.transaction(() => {
      const w = this.writable();
      if (gap) w.insertGap.run(gap.after_scan_number, gap.after_ts_ns, gap.before_scan_number, gap.before_ts_ns, gap.missing, gap.reason, gap.recorded_at);
      if (safety) w.insertInput.run(state.lastScanTsNs, JSON.stringify({ posture: safety.posture, size_scale: safety.size_scale, ts: safety.ts }));
      for (const o of orders) {
        w.insertFill.run(o.tsNs, o.scanNumber, state.day, o.symbol, o.side, o.reason, o.quantity, o.price, o.notional, o.fee, o.realized, state.capital);
      }
      w.saveState.run(state.lastScanTsNs, state.lastScanNumber, algoVersion, JSON.stringify(state), updatedAt);
    });
  }

  /**
   * Takes what the cluster has of this trader's decisions after this ledger's last one (another
   * host's trader decided them): their fills, postures and gaps, then the cluster's state, in one
   * transaction. Entries at or before the ledger's own last scan are already here and are left.
   * Returns how many rows it added; nothing when the cluster is not ahead.
   */
  adopt(state: ClusterStateEntry, entries: readonly ClusterLedgerEntry[]): number {
    const local = this.state();
    const after = local?.lastScanNumber ?? -1;
    if (state.scan_number <= after) return 0;
    let added = 0;
    this.transaction(() => {
      const w = this.writable();
      const ordered = [...entries].sort((a, b) => scanOf(a) - scanOf(b));
      for (const e of ordered) {
        const n = scanOf(e);
        if (n <= after || n > state.scan_number) continue;
        if (e.kind === 'fill') w.insertFill.run(e.scan_ts_ns, e.scan_number, e.day, e.symbol, e.side, e.reason, e.quantity, e.price, e.notional, e.fee, e.realized, e.capital_after);
        else if (e.kind === 'input') w.insertInput.run(e.scan_ts_ns, JSON.stringify(e.safety));
        else if (e.kind === 'gap') w.insertGap.run(e.after_scan_number, e.after_ts_ns, e.before_scan_number, e.before_ts_ns, e.missing, e.reason, e.recorded_at);
        else continue;
        added++;
      }
      w.saveState.run(state.scan_ts_ns, state.scan_number, state.algo_version, JSON.stringify(state.state), state.updated_at);
    });
    return added;
  }

  /**
   * A small write, to learn whether the ledger can be written again (throws like commit). A ledger
   * open read-only is first opened for writing again.
   */
  probe(): void {
    if (this.writes === undefined) {
      this.db.close();
      try {
        this.openWritable();
        return;
      } catch (err) {
        if (this.db.isOpen) this.db.close();
        const e = ledgerError(err, this.file);
        this.openReadOnly(e as DolphinError);
        throw e;
      }
    }
    this.transaction(() => {
      this.writable().probe.run(new Date().toISOString());
    });
  }

  gaps(): GapRow[] {
    return this.db.prepare('select * from gaps order by id').all() as unknown as GapRow[];
  }

  /** Scans decided by this ledger, scans recorded as missed, and when the last gap was recorded. */
  tally(): { decided: number; missed: number; lastGapAt: string | undefined } {
    const r = this.reads.counts.get() as { decided: number; missed: number; last_gap_at: string | null };
    return { decided: r.decided, missed: r.missed, lastGapAt: r.last_gap_at ?? undefined };
  }

  /**
   * All or nothing. A failed write is said plainly (disk full, read-only, I/O) as a retryable
   * DolphinError naming the file; SQLite may already have rolled the transaction back itself
   * (it does on a full disk), so a rollback is only asked for while one is open.
   */
  private transaction(work: () => void): void {
    try {
      this.db.exec('begin immediate');
      try {
        work();
        this.db.exec('commit');
      } catch (err) {
        if (this.db.isTransaction) {
          try {
            this.db.exec('rollback');
          } catch { /* the original error is what matters */ }
        }
        throw err;
      }
    } catch (err) {
      throw ledgerError(err, this.file);
    }
  }

  /** Realized PnL (after fees), fees and closed trades of a UTC day, from the fills. */
  totals(day: string): DayTotals {
    return this.reads.dayTotals.get(day) as unknown as DayTotals;
  }

  fills(): FillRow[] {
    return this.db.prepare('select * from fills order by id').all() as unknown as FillRow[];
  }

  /** The recorded inputs, oldest first. */
  inputs(): InputRow[] {
    return Ledger.inputsOf(this.db);
  }

  private static inputsOf(db: DatabaseSync): InputRow[] {
    const rows = db.prepare('select from_scan_ts_ns, safety from inputs order by from_scan_ts_ns').all() as Array<{ from_scan_ts_ns: number; safety: string }>;
    return rows.map((r) => ({ fromScanTsNs: r.from_scan_ts_ns, safety: JSON.parse(r.safety) as SafetyInput }));
  }

  /** The inputs recorded in the ledger file `file`, read-only (the trader may be writing it). */
  static readInputs(file: string): InputRow[] {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      if (!db.prepare("select 1 from sqlite_master where type = 'table' and name = 'inputs'").get()) {
        throw new Error(`ledger ${file} records no inputs: it was written by a trader from before they were recorded`);
      }
      return Ledger.inputsOf(db);
    } finally {
      db.close();
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

// SQLite's primary result codes (the low byte of an extended code).
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;

/** What the file system under `dir` says: read-only, full, or neither. */
function diskCondition(dir: string): 'readonly' | 'full' | undefined {
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const c = (err as NodeJS.ErrnoException).code;
    if (c === 'EROFS' || c === 'EACCES' || c === 'EPERM') return 'readonly';
  }
  try {
    if (statfsSync(dir).bavail === 0) return 'full';
  } catch { /* unknown */ }
  return undefined;
}

/**
 * A write (or an open) that failed for want of disk, permission or I/O, as a catalogue error;
 * anything else as it is. SQLite says "unable to open database file" or "disk I/O error" for
 * several causes: the file system is asked which one it is.
 */
export function ledgerError(err: unknown, file: string): unknown {
  const code = (err as { errcode?: unknown }).errcode;
  if (typeof code !== 'number') return err;
  let primary = code & 0xff;
  const said = (err as Error).message;
  if (primary === SQLITE_IOERR || primary === SQLITE_CANTOPEN || primary === SQLITE_READONLY) {
    const disk = diskCondition(path.dirname(file));
    if (disk === 'full') primary = SQLITE_FULL;
    else if (disk === 'readonly') primary = SQLITE_READONLY;
  }
  let e: DolphinError | undefined;
  if (primary === SQLITE_FULL) e = makeError(LedgerErrors.DOLPHIN_TRADER_LEDGER_FULL, `ledger ${file}: disk full (ENOSPC): no scan can be decided until space is freed (SQLite: ${said})`, { cause: err });
  else if (primary === SQLITE_READONLY) e = makeError(LedgerErrors.DOLPHIN_TRADER_LEDGER_READONLY, `ledger ${file}: read-only: no scan can be decided until it is writable (SQLite: ${said})`, { cause: err });
  else if (primary === SQLITE_IOERR || primary === SQLITE_CANTOPEN) e = makeError(LedgerErrors.DOLPHIN_TRADER_LEDGER_IO, `ledger ${file}: I/O error: no scan can be decided until it clears (SQLite: ${said})`, { cause: err });
  return e ?? err;
}
