export * from './allow-list.errors';
export * from './allow-list';
