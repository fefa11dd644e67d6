export * from './hash-chain';
export * from './events';
export * from './segment';
export * from './archive';
export * from './verify';
export * from './schedule';
export * from './s3-config';
