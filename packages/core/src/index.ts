export * from './paths.ts';
export * from './errors.ts';
export * from './time.ts';
export * from './validate.ts';
export * from './config-schema.ts';
export * from './config.ts';
export * from './logger.ts';
export * from './contract/index.ts';
