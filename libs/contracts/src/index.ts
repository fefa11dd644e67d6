export * from './errors';
export * from './permissions';
export * from './bridge/envelope';
export * from './bridge/methods';
export * from './env';
export * from './bridge/trust';
