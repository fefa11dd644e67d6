export * from './oidc-connector';
export * from './oidc.config';
export * from './oidc.errors';
