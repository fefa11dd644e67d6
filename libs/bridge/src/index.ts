export * from './topology';
export * from './connection';
export * from './codec';
export * from './client';
export * from './server';
export * from './heartbeat';
export * from './redact';
export * from './consumer';
