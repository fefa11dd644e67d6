export * from './hash-chain';
export * from './events';
