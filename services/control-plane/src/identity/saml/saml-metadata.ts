import { X509Certificate } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import { SamlTenantConfig } from './saml.config';
import { SamlConfigError } from './saml.errors';
import {
  NS,
  XmlParseError,
  certificateToPem,
  childElements,
  declaresDtd,
  descendants,
  parseXmlStrictly,
  textOf,
} from './saml-xml';

const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** What an admin's uploaded IdP metadata contributes to the tenant's SAML config. */
export interface IdpMetadata {
  idpEntityId: string;
  /** HTTP-Redirect SingleSignOnService location: the binding `SamlConnector.begin` uses. */
  idpSsoUrl: string;
  idpSigningCertsPem: string[];
}

/**
 * Reads an IdP's SAML metadata. Refuses a DOCTYPE before parsing, and more than one IdP: an
 * aggregate federation file must be narrowed by the admin, not guessed from.
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (Buffer.byteLength(xml, 'utf8') > 1024 * 1024) {
    throw new SamlConfigError('metadata_invalid', 'The file is larger than 1 MiB.');
  }
  if (declaresDtd(xml)) throw new SamlConfigError('metadata_doctype_forbidden');
  let doc: Document;
  try {
    doc = parseXmlStrictly(xml);
  } catch (err) {
    throw new SamlConfigError('metadata_invalid', err instanceof XmlParseError ? err.message : '');
  }
  const root = doc.documentElement;
  const candidates =
    root.namespaceURI === NS.metadata && root.localName === 'EntityDescriptor'
      ? [root]
      : descendants(root, NS.metadata, 'EntityDescriptor');
  const idps = candidates.filter((e) => childElements(e, NS.metadata, 'IDPSSODescriptor').length);
  if (idps.length > 1) throw new SamlConfigError('metadata_ambiguous');
  const entity = idps[0];
  if (!entity) throw new SamlConfigError('metadata_incomplete', 'No IDPSSODescriptor found.');

  const idpEntityId = entity.getAttribute('entityID') ?? '';
  const descriptor = childElements(entity, NS.metadata, 'IDPSSODescriptor')[0];
  const sso = childElements(descriptor, NS.metadata, 'SingleSignOnService').find(
    (s) => s.getAttribute('Binding') === REDIRECT_BINDING,
  );
  const idpSsoUrl = sso?.getAttribute('Location') ?? '';

  const idpSigningCertsPem: string[] = [];
  for (const keyDescriptor of childElements(descriptor, NS.metadata, 'KeyDescriptor')) {
    const use = keyDescriptor.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const certEl of descendants(keyDescriptor, NS.dsig, 'X509Certificate')) {
      const pem = certificateToPem(textOf(certEl));
      try {
        new X509Certificate(pem);
      } catch {
        throw new SamlConfigError('metadata_invalid', 'A signing certificate cannot be read.');
      }
      if (!idpSigningCertsPem.includes(pem)) idpSigningCertsPem.push(pem);
    }
  }
  if (!idpEntityId || !/^https?:\/\//.test(idpSsoUrl) || idpSigningCertsPem.length === 0) {
    throw new SamlConfigError(
      'metadata_incomplete',
      'An entityID, an HTTP-Redirect SingleSignOnService and a signing certificate are required.',
    );
  }
  return { idpEntityId, idpSsoUrl, idpSigningCertsPem };
}

/**
 * This tenant's SP metadata, for the admin to give to the IdP. Unsigned: we do not sign
 * AuthnRequests, and the IdP admin fetches it over TLS from us.
 */
export function spMetadata(config: SamlTenantConfig): string {
  const saml = new SAML({
    issuer: config.spEntityId,
    callbackUrl: config.acsUrl,
    idpCert: config.idpSigningCertsPem,
    wantAssertionsSigned: config.wantAssertionsSigned,
    identifierFormat: null,
  });
  return saml.generateServiceProviderMetadata(null, null);
}
