/**
 * Dolphin's error catalogue base. Every error a package throws on purpose has a stable
 * `code`, a message naming the file/field/key, a `retryable` flag and the `cause`.
 * Errors stored in Hazelcast are plain records (`toRecord`), never Error objects.
 */
export interface ErrorRecord {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

export interface DolphinErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class DolphinError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: DolphinErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DolphinError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  toRecord(): ErrorRecord {
    const record: ErrorRecord = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) record.details = this.details;
    return record;
  }
}

/** A catalogue entry: `code` and whether a retry can help. */
export interface ErrorSpec {
  readonly code: string;
  readonly retryable: boolean;
  readonly summary: string;
}

/** Declares a package's error catalogue so docs/errors.md can be checked against it. */
export function defineErrors<const T extends Record<string, Omit<ErrorSpec, 'code'>>>(
  specs: T,
): { readonly [K in keyof T]: ErrorSpec & { code: K & string } } {
  const out: Record<string, ErrorSpec> = {};
  for (const [code, spec] of Object.entries(specs)) out[code] = Object.freeze({ code, ...spec });
  return Object.freeze(out) as never;
}

/** Builds a DolphinError from a catalogue entry. */
export function makeError(spec: ErrorSpec, message: string, options: Omit<DolphinErrorOptions, 'retryable'> = {}): DolphinError {
  return new DolphinError(spec.code, message, { ...options, retryable: spec.retryable });
}

export function isDolphinError(err: unknown, code?: string): err is DolphinError {
  return err instanceof DolphinError && (code === undefined || err.code === code);
}

export const CoreErrors = defineErrors({
  DOLPHIN_CONFIG_INVALID: { retryable: false, summary: 'The configuration does not match its schema; the message lists every field and reason.' },
  DOLPHIN_CONFIG_FILE_UNREADABLE: { retryable: false, summary: 'A configuration file named in the message could not be read or is not valid JSON.' },
  DOLPHIN_CONTRACT_INVALID: { retryable: false, summary: 'A map value does not match the data contract; the message names map, key and field.' },
  DOLPHIN_CONTRACT_UNKNOWN_KEY: { retryable: false, summary: 'A key that the data contract does not define for that map.' },
  DOLPHIN_CONFIG_SECRET: { retryable: false, summary: 'A token file cannot be read, is too short, or other users may read it; or the production configuration has no token where it needs one.' },
  DOLPHIN_CONFIG_CALENDAR: { retryable: false, summary: 'A schedule calendar that dolphin up cannot run: only `*-*-* HH:MM[:SS] UTC` and `daily UTC` (a time of day in UTC); the message names the calendar.' },
  DOLPHIN_CLUSTER_FILE_INVALID: { retryable: false, summary: 'The cluster file does not match its schema (a duplicate address, an unknown host in the placement, a colour without parameters); the message names the file and every field.' },
  DOLPHIN_CLUSTER_HOST_UNKNOWN: { retryable: false, summary: 'The host named by --host or DOLPHIN_HOST is not in the cluster file, or none was named.' },
  DOLPHIN_CLUSTER_ADDRESS_NOT_LOCAL: { retryable: false, summary: "The host's address in the cluster file is not an address of this machine; the message lists the machine's addresses." },
  DOLPHIN_CLUSTER_SERVICE_UNKNOWN: { retryable: false, summary: 'The cluster file places a service the registry does not have; the message names the field.' },
});
