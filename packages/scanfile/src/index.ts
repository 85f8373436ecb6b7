export { SCAN_FILE_RE, DATE_DIR_RE, SCAN_FILE_SUFFIX, dateDirName, scanFileName, scanFilePath, tempPathFor, isScanFileName } from './layout.ts';
export { ScanFileErrors } from './errors.ts';
export { decodeScanFile, ipcCompleteness, tableRows, type DecodeResult, type IpcFormat } from './read.ts';
export { scansToTable, encodeScans, writeScanFile, type WriteMode } from './write.ts';
export { ScanEncoder } from './scan-encoder.ts';
export { ScanGenerator, assetSymbols, type GeneratorOptions } from './generator.ts';
export { seededRandom } from '@dolphin/core';
export { produceScans, MAX_RATE, type ProducerOptions } from './producer.ts';
export { replayScans, loadArchive, type ReplayOptions } from './replay.ts';
