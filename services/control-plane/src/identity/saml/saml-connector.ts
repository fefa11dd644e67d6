import { randomBytes } from 'node:crypto';
import { Profile, SAML, SamlStatusError, ValidateInResponseTo } from '@node-saml/node-saml';
import { SamlTenantConfig, parseSamlTenantConfig } from './saml.config';
import { SamlLoginError, SamlLoginErrorCode } from './saml.errors';
import {
  Clock,
  SamlReplayStore,
  SamlRequestStore,
  systemClock,
  tenantCacheProvider,
} from './saml-stores';
import {
  MAX_SAML_XML_BYTES,
  NS,
  certificateBody,
  childElements,
  containsCommentOrPi,
  declaresDtd,
  descendants,
  parseXmlStrictly,
} from './saml-xml';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SHA256_SIGNATURES = [
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
];
const SHA256_DIGESTS = [
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512',
];
const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
/** SAML bindings limit RelayState to 80 bytes. */
const MAX_RELAY_STATE_BYTES = 80;

/** Attribute names tried when the admin has not mapped one explicitly. */
const DEFAULT_ATTRIBUTES = {
  email: [
    'email',
    'mail',
    'urn:oid:0.9.2342.19200300.100.1.3',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  ],
  name: [
    'displayName',
    'name',
    'urn:oid:2.16.840.1.113730.3.1.241',
    'http://schemas.microsoft.com/identity/claims/displayname',
  ],
  groups: ['groups', 'memberOf', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups'],
} as const;

export interface SamlBeginResult {
  /** Send the browser here (HTTP-Redirect binding). */
  redirectUrl: string;
  /** Keep server-side with the browser's pre-login session; pass back as `expectedRequestId`. */
  requestId: string;
}

export interface SamlCompleteOptions {
  /** The id `begin` returned for this browser; absent for a login started at the IdP. */
  expectedRequestId?: string;
  /** Whether this tenant accepts IdP-initiated (unsolicited) logins. */
  allowIdpInitiated: boolean;
}

/** A user proven by a signed, verified assertion. Every field comes from the verified XML. */
export interface SamlIdentity {
  nameId: string;
  nameIdFormat?: string;
  email?: string;
  name?: string;
  groups: string[];
  /** Causeway roles granted by `groupRoles` for `groups`; empty when no group is mapped. */
  roles: string[];
  sessionIndex?: string;
  /** Every attribute of the verified assertion, multi-valued. */
  attributes: Record<string, string[]>;
}

export interface SamlConnectorDeps {
  requests: SamlRequestStore;
  replays: SamlReplayStore;
  clock?: Clock;
}

/**
 * The SAML 2.0 protocol core for one tenant: builds AuthnRequests and verifies Responses. It
 * wraps node-saml, whose defaults are not safe enough (SECURITY-NOTES.md, SAML), and adds the
 * checks node-saml lacks: DTD and comment refusal, SHA-1 refusal, KeyInfo certificates, Destination,
 * Recipient, binding of the response to this browser's request, and assertion replay.
 */
export class SamlConnector {
  readonly config: SamlTenantConfig;
  private readonly clock: Clock;

  constructor(
    config: unknown,
    private readonly deps: SamlConnectorDeps,
  ) {
    this.config = parseSamlTenantConfig(config);
    this.clock = deps.clock ?? systemClock;
  }

  /** Starts an SP-initiated login: an AuthnRequest whose id is remembered for this tenant. */
  async begin(relayState?: string): Promise<SamlBeginResult> {
    if (relayState !== undefined && Buffer.byteLength(relayState) > MAX_RELAY_STATE_BYTES) {
      throw new RangeError(`relayState must be at most ${MAX_RELAY_STATE_BYTES} bytes`);
    }
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const saml = this.saml(ValidateInResponseTo.always, () => requestId);
    const redirectUrl = await saml.getAuthorizeUrlAsync(relayState ?? '', undefined, {});
    return { redirectUrl, requestId };
  }

  /** Verifies a POSTed SAMLResponse. Throws `SamlLoginError` for every refusal. */
  async complete(samlResponseBase64: string, options: SamlCompleteOptions): Promise<SamlIdentity> {
    const { expectedRequestId, allowIdpInitiated } = options;
    if (!expectedRequestId && !allowIdpInitiated) throw new SamlLoginError('unsolicited_refused');

    try {
      return await this.verify(samlResponseBase64, expectedRequestId);
    } finally {
      // One Response per request, whatever its fate: node-saml forgets the id on most paths,
      // not all (a signed subject without InResponseTo leaves it behind).
      if (expectedRequestId) {
        await this.deps.requests.remove(this.config.tenantId, expectedRequestId);
      }
    }
  }

  private async verify(
    samlResponseBase64: string,
    expectedRequestId: string | undefined,
  ): Promise<SamlIdentity> {
    const { encoded, doc } = this.decode(samlResponseBase64);
    const response = doc.documentElement;
    this.checkSignatureAlgorithms(response);
    this.checkKeyInfoCertificates(response);

    const destination = response.getAttribute('Destination');
    if (destination !== this.config.acsUrl) {
      throw new SamlLoginError('destination_mismatch', `Destination ${destination ?? '(none)'}`);
    }
    const inResponseTo = response.getAttribute('InResponseTo') || undefined;
    if (inResponseTo !== expectedRequestId) {
      // SP-initiated: must answer this browser's request. IdP-initiated: must answer none.
      throw new SamlLoginError('in_response_to_mismatch');
    }

    const saml = this.saml(
      expectedRequestId ? ValidateInResponseTo.always : ValidateInResponseTo.never,
    );
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: encoded }));
    } catch (err) {
      throw this.translate(err, response);
    }
    // The assertion exactly as the signature covered it, never the unsigned document.
    const assertionXml = profile?.getAssertionXml?.();
    if (!profile || !assertionXml) throw new SamlLoginError('malformed', 'no assertion');
    return this.readVerifiedAssertion(profile, assertionXml, expectedRequestId);
  }

  private saml(validateInResponseTo: ValidateInResponseTo, generateUniqueId?: () => string) {
    const c = this.config;
    return new SAML({
      issuer: c.spEntityId,
      callbackUrl: c.acsUrl,
      entryPoint: c.idpSsoUrl,
      audience: c.spEntityId,
      idpCert: c.idpSigningCertsPem,
      wantAssertionsSigned: c.wantAssertionsSigned,
      wantAuthnResponseSigned: c.wantResponseSigned,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      acceptedClockSkewMs: c.clockSkewSeconds * 1000,
      validateInResponseTo,
      requestIdExpirationPeriodMs: c.requestTtlSeconds * 1000,
      cacheProvider: tenantCacheProvider(
        this.deps.requests,
        c.tenantId,
        c.requestTtlSeconds * 1000,
        this.clock,
      ),
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      ...(generateUniqueId ? { generateUniqueId } : {}),
    });
  }

  /** Strict base64, size limit, no DTD, well-formed, a protocol Response, no comments. */
  private decode(samlResponseBase64: string): { encoded: string; doc: Document } {
    if (typeof samlResponseBase64 !== 'string') throw new SamlLoginError('malformed', 'not text');
    const encoded = samlResponseBase64.replace(/\s+/g, '');
    if (encoded.length > (MAX_SAML_XML_BYTES * 4) / 3 + 4) {
      throw new SamlLoginError('malformed', 'too large');
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      throw new SamlLoginError('malformed', 'not base64');
    }
    const xml = Buffer.from(encoded, 'base64').toString('utf8');
    if (declaresDtd(xml)) throw new SamlLoginError('doctype_forbidden');
    let doc: Document;
    try {
      doc = parseXmlStrictly(xml);
    } catch (err) {
      throw new SamlLoginError('malformed', err instanceof Error ? err.message : undefined);
    }
    const root = doc.documentElement;
    if (root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
      throw new SamlLoginError('malformed', 'not a samlp:Response');
    }
    // Canonicalisation drops comments, so a comment can be slipped into a signed NameID
    // without breaking the signature; no IdP needs comments, refuse them all.
    if (containsCommentOrPi(root)) throw new SamlLoginError('comment_forbidden');
    return { encoded, doc };
  }

  /**
   * node-saml (via xml-crypto) accepts RSA-SHA1 and SHA-1 digests and has no option to refuse
   * them, so every SignatureMethod and DigestMethod in the document is checked here. The ones
   * that verify are inside SignedInfo, covered by the signature itself.
   */
  private checkSignatureAlgorithms(root: Element) {
    const signatures = [...SHA256_SIGNATURES];
    const digests = [...SHA256_DIGESTS];
    if (this.config.allowSha1Signatures) {
      signatures.push(SHA1_SIGNATURE);
      digests.push(SHA1_DIGEST);
    }
    for (const el of descendants(root, NS.dsig, 'SignatureMethod')) {
      const alg = el.getAttribute('Algorithm') ?? '';
      if (!signatures.includes(alg)) throw new SamlLoginError('signature_algorithm_refused', alg);
    }
    for (const el of descendants(root, NS.dsig, 'DigestMethod')) {
      const alg = el.getAttribute('Algorithm') ?? '';
      if (!digests.includes(alg)) throw new SamlLoginError('signature_algorithm_refused', alg);
    }
  }

  /**
   * Only the configured certificates verify signatures (xml-crypto 6 ignores KeyInfo), but a
   * certificate we were not given is a sign of tampering or of a rotation the admin has not
   * done yet: refuse it with its own code so the admin can tell which.
   */
  private checkKeyInfoCertificates(root: Element) {
    const trusted = new Set(this.config.idpSigningCertsPem.map(certificateBody));
    for (const el of descendants(root, NS.dsig, 'X509Certificate')) {
      if (!trusted.has(certificateBody(el.textContent ?? ''))) {
        throw new SamlLoginError('untrusted_certificate');
      }
    }
  }

  /** Maps node-saml's message-only errors to our stable codes. */
  private translate(err: unknown, response: Element): SamlLoginError {
    if (err instanceof SamlLoginError) return err;
    if (err instanceof SamlStatusError) return new SamlLoginError('idp_error', err.message);
    const message = err instanceof Error ? err.message : String(err);
    const refuse = (code: SamlLoginErrorCode) => new SamlLoginError(code, message);
    if (/not yet valid/i.test(message)) return refuse('assertion_not_yet_valid');
    if (/expired/i.test(message)) return refuse('assertion_expired');
    if (/audience/i.test(message)) return refuse('audience_mismatch');
    if (/InResponseTo/i.test(message)) return refuse('in_response_to_mismatch');
    if (/subject confirmation/i.test(message)) {
      // 'always' mode checks SubjectConfirmationData times first; say which way it failed.
      return refuse(this.timingFailure(response) ?? 'subject_confirmation_invalid');
    }
    if (
      /signature|signed|referenced node|ID cannot refer|multiple assertions|transforms/i.test(
        message,
      )
    ) {
      return refuse('signature_invalid');
    }
    return refuse('malformed');
  }

  /** Diagnoses an already refused response only; never used to accept anything. */
  private timingFailure(response: Element): SamlLoginErrorCode | null {
    const now = Date.now();
    const skew = this.config.clockSkewSeconds * 1000;
    for (const data of descendants(response, NS.assertion, 'SubjectConfirmationData')) {
      const notBefore = Date.parse(data.getAttribute('NotBefore') ?? '');
      const notOnOrAfter = Date.parse(data.getAttribute('NotOnOrAfter') ?? '');
      if (notOnOrAfter <= now - skew) return 'assertion_expired';
      if (notBefore > now + skew) return 'assertion_not_yet_valid';
    }
    return null;
  }

  /** Our checks on the verified assertion, then the identity. Reads nothing unverified. */
  private async readVerifiedAssertion(
    profile: Profile,
    assertionXml: string,
    expectedRequestId: string | undefined,
  ): Promise<SamlIdentity> {
    const c = this.config;
    const assertion = parseXmlStrictly(assertionXml).documentElement;
    if (assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') {
      throw new SamlLoginError('malformed', 'verified XML is not an Assertion');
    }
    const issuer = childElements(assertion, NS.assertion, 'Issuer')[0]?.textContent?.trim();
    if (issuer !== c.idpEntityId) throw new SamlLoginError('issuer_mismatch', issuer);

    const now = this.clock().getTime();
    const skew = c.clockSkewSeconds * 1000;
    const subject = childElements(assertion, NS.assertion, 'Subject')[0];
    const bearers = subject
      ? childElements(subject, NS.assertion, 'SubjectConfirmation').filter(
          (s) => s.getAttribute('Method') === BEARER,
        )
      : [];
    const data = bearers
      .map((b) => childElements(b, NS.assertion, 'SubjectConfirmationData')[0])
      .filter((d): d is Element => d !== undefined);
    if (data.length === 0) throw new SamlLoginError('subject_confirmation_invalid', 'no bearer');
    const forUs = data.filter((d) => d.getAttribute('Recipient') === c.acsUrl);
    if (forUs.length === 0) throw new SamlLoginError('recipient_mismatch');
    const answering = forUs.filter(
      (d) => (d.getAttribute('InResponseTo') || undefined) === expectedRequestId,
    );
    if (answering.length === 0) throw new SamlLoginError('in_response_to_mismatch');
    const current = answering.filter((d) => {
      const notOnOrAfter = Date.parse(d.getAttribute('NotOnOrAfter') ?? '');
      return Number.isFinite(notOnOrAfter) && now - skew < notOnOrAfter;
    });
    if (current.length === 0) throw new SamlLoginError('assertion_expired', 'subject confirmation');

    const assertionId = assertion.getAttribute('ID');
    if (!assertionId) throw new SamlLoginError('malformed', 'assertion without ID');
    const conditions = childElements(assertion, NS.assertion, 'Conditions')[0];
    const expiries = [
      ...current.map((d) => Date.parse(d.getAttribute('NotOnOrAfter') ?? '')),
      Date.parse(conditions?.getAttribute('NotOnOrAfter') ?? ''),
    ].filter(Number.isFinite);
    const keepUntil = new Date(Math.max(...expiries) + skew);
    if (!(await this.deps.replays.consume(c.tenantId, assertionId, keepUntil))) {
      throw new SamlLoginError('assertion_replayed');
    }

    const nameId = typeof profile.nameID === 'string' ? profile.nameID.trim() : '';
    if (!nameId) throw new SamlLoginError('name_id_missing');
    const attributes = normaliseAttributes(profile.attributes);
    const pick = (mapped: string | undefined, defaults: readonly string[]) =>
      (mapped ? [mapped] : defaults).map((n) => attributes[n]).find((v) => v && v.length > 0);
    const m = c.attributeMapping;
    const groups = pick(m.groups, DEFAULT_ATTRIBUTES.groups) ?? [];
    return {
      nameId,
      nameIdFormat: profile.nameIDFormat || undefined,
      email: pick(m.email, DEFAULT_ATTRIBUTES.email)?.[0],
      name: pick(m.name, DEFAULT_ATTRIBUTES.name)?.[0],
      groups,
      roles: rolesForGroups(c, groups),
      sessionIndex: profile.sessionIndex,
      attributes,
    };
  }
}

/** Roles the tenant's `groupRoles` grants to these IdP groups, sorted, without duplicates. */
export function rolesForGroups(config: SamlTenantConfig, groups: readonly string[]): string[] {
  const roles = new Set<string>();
  for (const group of groups) {
    if (!Object.prototype.hasOwnProperty.call(config.groupRoles, group)) continue;
    for (const role of config.groupRoles[group]) roles.add(role);
  }
  return [...roles].sort();
}

/** node-saml gives a string for one value, an array for several; we always give arrays. */
function normaliseAttributes(raw: unknown): Record<string, string[]> {
  // No prototype: an attribute named __proto__ must stay an attribute.
  const out = Object.create(null) as Record<string, string[]>;
  if (!raw || typeof raw !== 'object') return out;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    out[name] = values.filter((v): v is string => typeof v === 'string');
  }
  return out;
}
