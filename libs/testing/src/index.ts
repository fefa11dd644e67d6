export * from './services';
export * from './wait';
export * from './processes';
export * from './rabbitmq-instance';
export * from './bridge-trust';
export * from './smtp';
export * from './oidc-provider';
export * from './saml-idp';
