import path from 'node:path';

/** `<scanDir>/YYYY-MM-DD/scan_<scan_number>_<HHMMSS>.arrow` (DESIGN.md §4). */
export const SCAN_FILE_RE = /^scan_(\d+)_(\d{6})\.arrow$/;
export const DATE_DIR_RE = /^\d{4}-\d{2}-\d{2}$/;
export const SCAN_FILE_SUFFIX = '.arrow';

/** UTC date folder of an epoch-ns instant. */
export function dateDirName(epochNs: number): string {
  return new Date(epochNs / 1e6).toISOString().slice(0, 10);
}

/** File name of a scan: its number and its UTC time of day. */
export function scanFileName(scanNumber: number, epochNs: number): string {
  const hhmmss = new Date(epochNs / 1e6).toISOString().slice(11, 19).replaceAll(':', '');
  return `scan_${scanNumber}_${hhmmss}${SCAN_FILE_SUFFIX}`;
}

/** Where a scan's file goes under `scanDir`. */
export function scanFilePath(scanDir: string, scanNumber: number, epochNs: number): string {
  return path.join(scanDir, dateDirName(epochNs), scanFileName(scanNumber, epochNs));
}

/** Temporary name for write-then-rename: hidden and without the .arrow suffix, so watchers skip it. */
export function tempPathFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${process.pid}.tmp`);
}

export function isScanFileName(name: string): boolean {
  return name.endsWith(SCAN_FILE_SUFFIX) && !name.startsWith('.');
}
