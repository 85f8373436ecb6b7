import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerFactoryOptions {
  service: string;
  level?: LoggerOptions['level'];
  pretty?: 'auto' | 'always' | 'never';
  /** Destination stream (default: stdout). */
  destination?: NodeJS.WritableStream;
  /** Append JSON lines to this file instead (synchronously; never pretty). */
  file?: string;
}

/**
 * pino JSON to stdout, every line carrying `service`; pretty lines only on a TTY (or when
 * asked). Pretty printing runs in-process and synchronously: no worker thread to outlive us.
 */
export function createLogger(options: LoggerFactoryOptions): Logger {
  const usePretty = options.pretty === 'always' || (options.pretty !== 'never' && process.stdout.isTTY === true);
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (options.file) return pino(opts, pino.destination({ dest: options.file, sync: true, mkdir: true, append: true }));
  if (usePretty) return pino(opts, pretty({ sync: true, destination: options.destination ?? 1 }));
  if (options.destination) return pino(opts, options.destination);
  // Synchronous writes: a fatal line before exit is never lost; the hot path logs at debug only.
  return pino(opts, pino.destination({ dest: 1, sync: true }));
}
