import { randomBytes } from 'node:crypto';
import { createCertificateAuthority } from '@causeway/crypto';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

/** A signing key and its self-signed certificate, as an IdP (or an attacker) would hold. */
export interface SamlSigningIdentity {
  certPem: string;
  keyPem: string;
}

/** Which elements of the Response carry an enveloped signature. */
export type TestSamlSigning = 'response' | 'assertion' | 'both' | 'none';

/**
 * Signature wrapping attacks built from a genuinely signed Response (assertion signed only, for
 * user `wrapOriginalNameId`) and an attacker's unsigned assertion for `nameId`:
 * - `extensions`: the signed assertion hidden in samlp:Extensions, the forged one (same ID,
 *   carrying the original Signature) where the SP reads it;
 * - `signature-object`: the signed assertion hidden inside the forged assertion's ds:Signature/ds:Object;
 * - `duplicate`: the forged assertion first, the signed one moved after it;
 * - `transplant`: the signed assertion's Signature moved into the forged assertion (its own ID).
 */
export type TestSamlWrapping = 'extensions' | 'signature-object' | 'duplicate' | 'transplant';

export interface TestSamlResponseOptions {
  /** SP entity id: the assertion's Audience unless `audience` is given. */
  spEntityId: string;
  /** SP ACS URL: Destination and Recipient unless overridden. */
  acsUrl: string;
  nameId: string;
  nameIdFormat?: string;
  attributes?: Record<string, string | string[]>;
  inResponseTo?: string;
  /** InResponseTo of the SubjectConfirmationData if it should differ; `null` leaves it out. */
  subjectInResponseTo?: string | null;
  /** NotOnOrAfter of the SubjectConfirmationData if it should differ from the Conditions'. */
  subjectNotOnOrAfter?: Date;
  signing?: TestSamlSigning;
  algorithm?: 'sha256' | 'sha1';
  audience?: string;
  recipient?: string;
  /** `null` leaves the attribute out. */
  destination?: string | null;
  issuer?: string;
  /** Time the IdP believes it is; defaults to now. */
  now?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  assertionId?: string;
  responseId?: string;
  sessionIndex?: string;
  /** Inserts `<!---->` into the NameID after signing, at this character offset. */
  nameIdCommentAt?: number;
  /** Sign with this key instead of the IdP's (an attacker's). */
  signWith?: SamlSigningIdentity;
  /** Certificate put in KeyInfo; defaults to the signer's, `null` omits KeyInfo. */
  keyInfoCertPem?: string | null;
  /** Prepend a DOCTYPE: an internal entity used in the NameID, or an external one. */
  dtd?: 'internal-entity' | 'external-entity';
  wrapping?: TestSamlWrapping;
  /** For `wrapping`: the NameID of the genuinely signed assertion. */
  wrapOriginalNameId?: string;
  /** Change the NameID after signing (the digest no longer matches). */
  tamperNameId?: string;
}

const NS_P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const NS_A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const NS_DS = 'http://www.w3.org/2000/09/xmldsig#';
const ALGORITHMS = {
  sha256: {
    signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
  },
  sha1: {
    signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    digest: 'http://www.w3.org/2000/09/xmldsig#sha1',
  },
} as const;

/** A fresh RSA key and self-signed certificate. */
export async function createSamlSigningIdentity(
  name = 'Test SAML IdP',
): Promise<SamlSigningIdentity> {
  const ca = await createCertificateAuthority({
    commonName: name,
    validityDays: 30,
    now: new Date(),
  });
  return { certPem: ca.certPem, keyPem: ca.keyPem };
}

function esc(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function samlId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

function certBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * A SAML 2.0 identity provider for tests. It signs real XML with xml-crypto, so the SP under test
 * verifies real signatures, and can produce every malformed or hostile variant an SP must refuse.
 */
export class TestSamlIdp {
  private constructor(
    readonly entityId: string,
    readonly ssoUrl: string,
    readonly identity: SamlSigningIdentity,
  ) {}

  static async create(options: { entityId?: string; ssoUrl?: string } = {}): Promise<TestSamlIdp> {
    return new TestSamlIdp(
      options.entityId ?? 'https://idp.test.example/saml',
      options.ssoUrl ?? 'https://idp.test.example/saml/sso',
      await createSamlSigningIdentity(),
    );
  }

  get certPem(): string {
    return this.identity.certPem;
  }

  /** IdP metadata as an admin would download it from the IdP. */
  metadataXml(): string {
    return (
      `<?xml version="1.0"?>` +
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="${NS_DS}" entityID="${esc(this.entityId)}">` +
      `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS_P}">` +
      `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(this.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(this.ssoUrl)}/post"/>` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(this.ssoUrl)}"/>` +
      `</md:IDPSSODescriptor></md:EntityDescriptor>`
    );
  }

  /** The Response, base64 encoded as the HTTP-POST binding sends it. */
  response(options: TestSamlResponseOptions): string {
    return Buffer.from(this.responseXml(options), 'utf8').toString('base64');
  }

  /** The Response XML. */
  responseXml(options: TestSamlResponseOptions): string {
    if (options.wrapping) return this.wrapped(options, options.wrapping);
    const signing = options.signing ?? 'both';
    let xml = this.unsignedXml(options);
    if (signing === 'assertion' || signing === 'both') {
      xml = this.sign(xml, "//*[local-name(.)='Assertion']", options);
    }
    if (signing === 'response' || signing === 'both') {
      xml = this.sign(xml, "/*[local-name(.)='Response']", options);
    }
    if (options.tamperNameId !== undefined) {
      xml = xml.replace(
        `>${esc(options.nameId)}</saml:NameID>`,
        `>${esc(options.tamperNameId)}</saml:NameID>`,
      );
    }
    if (options.nameIdCommentAt !== undefined) {
      const value = esc(options.nameId);
      const at = options.nameIdCommentAt;
      xml = xml.replace(
        `>${value}</saml:NameID>`,
        `>${value.slice(0, at)}<!---->${value.slice(at)}</saml:NameID>`,
      );
    }
    if (options.dtd === 'internal-entity') {
      xml = xml
        .replace('<?xml version="1.0"?>', '')
        .replace(`>${esc(options.nameId)}</saml:NameID>`, '>&who;</saml:NameID>');
      xml = `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY who "${esc(options.nameId)}">]>${xml}`;
    } else if (options.dtd === 'external-entity') {
      xml = xml.replace('<?xml version="1.0"?>', '');
      xml = `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY ext SYSTEM "file:///etc/passwd">]>${xml}`;
    }
    return xml;
  }

  private unsignedXml(o: TestSamlResponseOptions): string {
    const now = o.now ?? new Date();
    const notBefore = o.notBefore ?? new Date(now.getTime() - 5_000);
    const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
    const issuer = o.issuer ?? this.entityId;
    const inResponseTo = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
    const subjectInResponseToValue =
      o.subjectInResponseTo === undefined ? o.inResponseTo : o.subjectInResponseTo;
    const subjectInResponseTo = subjectInResponseToValue
      ? ` InResponseTo="${esc(subjectInResponseToValue)}"`
      : '';
    const subjectNotOnOrAfter = o.subjectNotOnOrAfter ?? notOnOrAfter;
    const destination =
      o.destination === null ? '' : ` Destination="${esc(o.destination ?? o.acsUrl)}"`;
    const attributes = Object.entries(o.attributes ?? {})
      .map(([name, value]) => {
        const values = (Array.isArray(value) ? value : [value])
          .map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`)
          .join('');
        return `<saml:Attribute Name="${esc(name)}">${values}</saml:Attribute>`;
      })
      .join('');
    const assertion =
      `<saml:Assertion xmlns:saml="${NS_A}" ID="${esc(o.assertionId ?? samlId())}" Version="2.0" IssueInstant="${now.toISOString()}">` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="${esc(o.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress')}">${esc(o.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
      `<saml:SubjectConfirmationData NotOnOrAfter="${subjectNotOnOrAfter.toISOString()}" Recipient="${esc(o.recipient ?? o.acsUrl)}"${subjectInResponseTo}/>` +
      `</saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}">` +
      `<saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? o.spEntityId)}</saml:Audience></saml:AudienceRestriction>` +
      `</saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${esc(o.sessionIndex ?? samlId())}">` +
      `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
      `</saml:AuthnStatement>` +
      (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
      `</saml:Assertion>`;
    return (
      `<?xml version="1.0"?>` +
      `<samlp:Response xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}" ID="${esc(o.responseId ?? samlId())}" Version="2.0" IssueInstant="${now.toISOString()}"${destination}${inResponseTo}>` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      assertion +
      `</samlp:Response>`
    );
  }

  /** Adds an enveloped signature of the element `xpath` selects, right after its Issuer. */
  private sign(xml: string, xpath: string, o: TestSamlResponseOptions): string {
    const signer = o.signWith ?? this.identity;
    const algorithms = ALGORITHMS[o.algorithm ?? 'sha256'];
    const keyInfoCert = o.keyInfoCertPem === undefined ? signer.certPem : o.keyInfoCertPem;
    const sig = new SignedXml({
      privateKey: signer.keyPem,
      signatureAlgorithm: algorithms.signature,
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      getKeyInfoContent: () =>
        keyInfoCert === null
          ? null
          : `<ds:X509Data><ds:X509Certificate>${certBody(keyInfoCert)}</ds:X509Certificate></ds:X509Data>`,
    });
    sig.addReference({
      xpath,
      transforms: [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
        'http://www.w3.org/2001/10/xml-exc-c14n#',
      ],
      digestAlgorithm: algorithms.digest,
    });
    sig.computeSignature(xml, {
      prefix: 'ds',
      location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' },
    });
    return sig.getSignedXml();
  }

  /** Builds a wrapping attack by moving nodes of a genuinely signed document with xmldom. */
  private wrapped(o: TestSamlResponseOptions, wrapping: TestSamlWrapping): string {
    const original = this.responseXml({
      ...o,
      wrapping: undefined,
      signing: 'assertion',
      nameId: o.wrapOriginalNameId ?? 'attacker@test.example',
    });
    const forgedXml = this.responseXml({ ...o, wrapping: undefined, signing: 'none' });
    const parser = new DOMParser();
    const doc = parser.parseFromString(original, 'text/xml');
    const forgedDoc = parser.parseFromString(forgedXml, 'text/xml');
    const response = doc.documentElement;
    const signed = response.getElementsByTagNameNS(NS_A, 'Assertion')[0];
    const signature = signed.getElementsByTagNameNS(NS_DS, 'Signature')[0];
    const forged = doc.importNode(forgedDoc.getElementsByTagNameNS(NS_A, 'Assertion')[0], true);
    const forgedIssuer = forged.getElementsByTagNameNS(NS_A, 'Issuer')[0];

    switch (wrapping) {
      case 'extensions': {
        forged.setAttribute('ID', signed.getAttribute('ID') ?? '');
        forged.insertBefore(signature.cloneNode(true), forgedIssuer.nextSibling);
        const extensions = doc.createElementNS(NS_P, 'samlp:Extensions');
        response.replaceChild(forged, signed);
        extensions.appendChild(signed);
        response.insertBefore(extensions, response.getElementsByTagNameNS(NS_P, 'Status')[0]);
        break;
      }
      case 'signature-object': {
        forged.setAttribute('ID', signed.getAttribute('ID') ?? '');
        response.replaceChild(forged, signed);
        signed.removeChild(signature);
        const object = doc.createElementNS(NS_DS, 'ds:Object');
        object.appendChild(signed);
        signature.appendChild(object);
        forged.insertBefore(signature, forgedIssuer.nextSibling);
        break;
      }
      case 'duplicate': {
        response.insertBefore(forged, signed);
        break;
      }
      case 'transplant': {
        signed.removeChild(signature);
        forged.insertBefore(signature, forgedIssuer.nextSibling);
        response.replaceChild(forged, signed);
        break;
      }
    }
    return new XMLSerializer().serializeToString(doc);
  }
}
