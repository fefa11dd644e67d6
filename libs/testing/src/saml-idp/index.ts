export * from './saml-idp';
