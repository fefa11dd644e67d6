export * from './saml.errors';
export * from './saml.config';
export * from './saml-metadata';
export * from './saml-stores';
export { SamlConnector, rolesForGroups } from './saml-connector';
export type {
  SamlBeginResult,
  SamlCompleteOptions,
  SamlConnectorDeps,
  SamlIdentity,
} from './saml-connector';
