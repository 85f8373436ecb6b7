export * from './common.ts';
export * from './scan.ts';
export * from './values.ts';
export * from './maps.ts';
export * from './samples.ts';
