export * from './object-store';
export * from './local-disk-store';
export * from './s3-store';
export * from './create-object-store';
