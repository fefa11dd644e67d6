export * from './protocol';
export * from './topology';
export * from './receiver';
export * from './sender';
