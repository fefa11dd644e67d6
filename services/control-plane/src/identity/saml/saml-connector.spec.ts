import { inflateRawSync } from 'node:zlib';
import {
  SamlSigningIdentity,
  TestSamlIdp,
  TestSamlResponseOptions,
  createSamlSigningIdentity,
} from '@causeway/testing';
import {
  InMemorySamlReplayStore,
  InMemorySamlRequestStore,
  SamlConfigError,
  SamlConnector,
  SamlLoginErrorCode,
  SamlTenantConfigInput,
  isSamlLoginError,
  parseIdpMetadata,
  parseSamlTenantConfig,
  spMetadata,
} from './index';

const SP_ENTITY_ID = 'https://causeway.test/saml/acme';
const ACS_URL = 'https://causeway.test/saml/acme/acs';

let idp: TestSamlIdp;
let attacker: SamlSigningIdentity;

beforeAll(async () => {
  idp = await TestSamlIdp.create();
  attacker = await createSamlSigningIdentity('Attacker');
});

function configFor(overrides: Partial<SamlTenantConfigInput> = {}): SamlTenantConfigInput {
  return {
    tenantId: 'acme',
    spEntityId: SP_ENTITY_ID,
    acsUrl: ACS_URL,
    idpEntityId: idp.entityId,
    idpSsoUrl: idp.ssoUrl,
    idpSigningCertsPem: [idp.certPem],
    attributeMapping: { email: 'email', name: 'displayName', groups: 'groups' },
    groupRoles: { 'causeway-admins': ['tenant-admin'], ops: ['operator', 'tenant-admin'] },
    ...overrides,
  };
}

function setup(overrides: Partial<SamlTenantConfigInput> = {}) {
  const requests = new InMemorySamlRequestStore();
  const replays = new InMemorySamlReplayStore();
  const connector = new SamlConnector(configFor(overrides), { requests, replays });
  return { connector, requests, replays };
}

function responseFor(options: Partial<TestSamlResponseOptions> = {}): string {
  return idp.response({
    spEntityId: SP_ENTITY_ID,
    acsUrl: ACS_URL,
    nameId: 'alice@acme.test',
    attributes: {
      email: 'alice@acme.test',
      displayName: 'Alice Example',
      groups: ['causeway-admins', 'ops'],
    },
    ...options,
  });
}

/** Starts an SP-initiated login and answers it, with `options` changing the answer. */
async function spLogin(
  connector: SamlConnector,
  options: Partial<TestSamlResponseOptions> = {},
): Promise<unknown> {
  const { requestId } = await connector.begin();
  return connector.complete(responseFor({ inResponseTo: requestId, ...options }), {
    expectedRequestId: requestId,
    allowIdpInitiated: false,
  });
}

async function expectRefused(attempt: Promise<unknown>, code: SamlLoginErrorCode) {
  const outcome = await attempt.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected refusal ${code}, login succeeded`);
  if (!isSamlLoginError(outcome.error)) throw outcome.error;
  expect(outcome.error.code).toBe(code);
}

describe('SamlConnector logins', () => {
  it('completes an SP-initiated login and maps attributes', async () => {
    const { connector } = setup();
    const { redirectUrl, requestId } = await connector.begin('/workspaces');
    const url = new URL(redirectUrl);
    expect(`${url.origin}${url.pathname}`).toBe(idp.ssoUrl);
    expect(url.searchParams.get('RelayState')).toBe('/workspaces');
    const request = inflateRawSync(
      Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64'),
    ).toString();
    expect(request).toContain(`ID="${requestId}"`);
    expect(request).toContain(`AssertionConsumerServiceURL="${ACS_URL}"`);

    const identity = await connector.complete(
      responseFor({ inResponseTo: requestId, sessionIndex: '_session1' }),
      { expectedRequestId: requestId, allowIdpInitiated: false },
    );
    expect(identity).toMatchObject({
      nameId: 'alice@acme.test',
      email: 'alice@acme.test',
      name: 'Alice Example',
      groups: ['causeway-admins', 'ops'],
      roles: ['operator', 'tenant-admin'],
      sessionIndex: '_session1',
    });
    expect(identity.attributes.groups).toEqual(['causeway-admins', 'ops']);
  });

  it('completes an IdP-initiated login when the tenant allows it', async () => {
    const { connector } = setup();
    const identity = await connector.complete(responseFor(), { allowIdpInitiated: true });
    expect(identity.nameId).toBe('alice@acme.test');
    expect(identity.groups).toEqual(['causeway-admins', 'ops']);
  });

  it('reads attributes under the names the admin mapped', async () => {
    const { connector } = setup({ attributeMapping: { email: 'urn:acme:mail', groups: 'roles' } });
    const identity = await connector.complete(
      responseFor({ attributes: { 'urn:acme:mail': 'a@acme.test', roles: 'auditor' } }),
      { allowIdpInitiated: true },
    );
    expect(identity.email).toBe('a@acme.test');
    expect(identity.groups).toEqual(['auditor']);
    expect(identity.roles).toEqual([]);
  });

  it('accepts a timestamp within the configured clock skew', async () => {
    const { connector } = setup();
    await expect(
      spLogin(connector, { notOnOrAfter: new Date(Date.now() - 20_000) }),
    ).resolves.toBeDefined();
  });
});

describe('SamlConnector refusals', () => {
  it('refuses an IdP-initiated login when the tenant does not allow it', async () => {
    const { connector } = setup();
    await expectRefused(
      connector.complete(responseFor(), { allowIdpInitiated: false }),
      'unsolicited_refused',
    );
  });

  it('refuses a DOCTYPE with an internal entity', async () => {
    await expectRefused(
      spLogin(setup().connector, { dtd: 'internal-entity' }),
      'doctype_forbidden',
    );
  });

  it('refuses a DOCTYPE with an external entity', async () => {
    await expectRefused(
      spLogin(setup().connector, { dtd: 'external-entity' }),
      'doctype_forbidden',
    );
  });

  it('refuses a comment injected into a signed NameID', async () => {
    // Canonicalisation ignores comments, so the signature still verifies.
    await expectRefused(
      spLogin(setup().connector, { nameId: 'admin@acme.test.evil.test', nameIdCommentAt: 14 }),
      'comment_forbidden',
    );
  });

  it('refuses an unsigned assertion in a signed response', async () => {
    await expectRefused(spLogin(setup().connector, { signing: 'response' }), 'signature_invalid');
    // Control: the same response passes once the admin stops requiring signed assertions.
    await expect(
      spLogin(setup({ wantAssertionsSigned: false }).connector, { signing: 'response' }),
    ).resolves.toBeDefined();
  });

  it('refuses a signed assertion in an unsigned response', async () => {
    await expectRefused(spLogin(setup().connector, { signing: 'assertion' }), 'signature_invalid');
    await expect(
      spLogin(setup({ wantResponseSigned: false }).connector, { signing: 'assertion' }),
    ).resolves.toBeDefined();
  });

  it('refuses a response with no signature at all', async () => {
    await expectRefused(
      spLogin(setup({ wantResponseSigned: false }).connector, { signing: 'none' }),
      'signature_invalid',
    );
  });

  it('refuses a NameID changed after signing', async () => {
    await expectRefused(
      spLogin(setup().connector, { tamperNameId: 'admin@acme.test' }),
      'signature_invalid',
    );
  });

  it('refuses a signature by another key', async () => {
    await expectRefused(
      spLogin(setup().connector, { signWith: attacker, keyInfoCertPem: null }),
      'signature_invalid',
    );
  });

  it('refuses a certificate in KeyInfo that is not the configured one', async () => {
    await expectRefused(
      spLogin(setup().connector, { signWith: attacker, keyInfoCertPem: attacker.certPem }),
      'untrusted_certificate',
    );
    await expectRefused(
      spLogin(setup().connector, { keyInfoCertPem: attacker.certPem }),
      'untrusted_certificate',
    );
  });

  it('refuses SHA-1 signatures by default', async () => {
    await expectRefused(
      spLogin(setup().connector, { algorithm: 'sha1' }),
      'signature_algorithm_refused',
    );
    await expect(
      spLogin(setup({ allowSha1Signatures: true }).connector, { algorithm: 'sha1' }),
    ).resolves.toBeDefined();
  });

  describe.each(['extensions', 'signature-object', 'duplicate', 'transplant'] as const)(
    'XML signature wrapping: %s',
    (wrapping) => {
      it('is refused', async () => {
        // Assertion-only signing (common with Okta) leaves the assertion signature as the only guard.
        const { connector } = setup({ wantResponseSigned: false });
        await expect(spLogin(connector, { signing: 'assertion' })).resolves.toBeDefined();
        await expectRefused(
          spLogin(connector, {
            wrapping,
            nameId: 'admin@acme.test',
            wrapOriginalNameId: 'mallory@acme.test',
          }),
          'signature_invalid',
        );
      });
    },
  );

  it('refuses an expired assertion', async () => {
    await expectRefused(
      spLogin(setup().connector, { notOnOrAfter: new Date(Date.now() - 5 * 60_000) }),
      'assertion_expired',
    );
    await expectRefused(
      setup().connector.complete(responseFor({ notOnOrAfter: new Date(Date.now() - 5 * 60_000) }), {
        allowIdpInitiated: true,
      }),
      'assertion_expired',
    );
  });

  it('refuses an assertion that is not yet valid', async () => {
    await expectRefused(
      spLogin(setup().connector, { notBefore: new Date(Date.now() + 5 * 60_000) }),
      'assertion_not_yet_valid',
    );
  });

  it('refuses a wrong audience', async () => {
    await expectRefused(
      spLogin(setup().connector, { audience: 'https://other-sp.test/saml' }),
      'audience_mismatch',
    );
  });

  it('refuses a wrong recipient', async () => {
    await expectRefused(
      spLogin(setup().connector, { recipient: 'https://causeway.test/saml/other/acs' }),
      'recipient_mismatch',
    );
  });

  it('refuses a wrong or missing destination', async () => {
    await expectRefused(
      spLogin(setup().connector, { destination: 'https://causeway.test/saml/other/acs' }),
      'destination_mismatch',
    );
    await expectRefused(spLogin(setup().connector, { destination: null }), 'destination_mismatch');
  });

  it('refuses an assertion from another issuer', async () => {
    await expectRefused(
      spLogin(setup().connector, { issuer: 'https://other-idp.test' }),
      'issuer_mismatch',
    );
  });

  it('refuses a response to another request of the same tenant', async () => {
    const { connector } = setup();
    const mine = await connector.begin();
    const other = await connector.begin();
    await expectRefused(
      connector.complete(responseFor({ inResponseTo: other.requestId }), {
        expectedRequestId: mine.requestId,
        allowIdpInitiated: false,
      }),
      'in_response_to_mismatch',
    );
  });

  it('refuses a request id that was never issued or was already answered', async () => {
    const { connector } = setup();
    await expectRefused(
      connector.complete(responseFor({ inResponseTo: '_never-issued' }), {
        expectedRequestId: '_never-issued',
        allowIdpInitiated: false,
      }),
      'in_response_to_mismatch',
    );
    const { requestId } = await connector.begin();
    const answer = responseFor({ inResponseTo: requestId });
    const options = { expectedRequestId: requestId, allowIdpInitiated: false };
    await connector.complete(answer, options);
    await expectRefused(connector.complete(answer, options), 'in_response_to_mismatch');
  });

  it('forgets a request id after a refused answer', async () => {
    const { connector } = setup({ wantResponseSigned: false });
    const { requestId } = await connector.begin();
    const options = { expectedRequestId: requestId, allowIdpInitiated: false };
    const unanswered = responseFor({ inResponseTo: requestId, signing: 'assertion' });
    await expectRefused(
      connector.complete(
        responseFor({ inResponseTo: requestId, signing: 'assertion', subjectInResponseTo: null }),
        options,
      ),
      'in_response_to_mismatch',
    );
    await expectRefused(connector.complete(unanswered, options), 'in_response_to_mismatch');
  });

  it("refuses tenant A's request id at tenant B", async () => {
    const requests = new InMemorySamlRequestStore();
    const replays = new InMemorySamlReplayStore();
    const a = new SamlConnector(configFor(), { requests, replays });
    const b = new SamlConnector(configFor({ tenantId: 'globex' }), { requests, replays });
    const { requestId } = await a.begin();
    await expectRefused(
      b.complete(responseFor({ inResponseTo: requestId }), {
        expectedRequestId: requestId,
        allowIdpInitiated: false,
      }),
      'in_response_to_mismatch',
    );
  });

  it('refuses an IdP-initiated response that claims to answer a request', async () => {
    const { connector } = setup();
    const { requestId } = await connector.begin();
    await expectRefused(
      connector.complete(responseFor({ inResponseTo: requestId }), { allowIdpInitiated: true }),
      'in_response_to_mismatch',
    );
  });

  it('refuses an assertion whose signed subject does not answer the request', async () => {
    // The unsigned Response claims to answer our request; the signed assertion does not.
    const { connector } = setup({ wantResponseSigned: false });
    await expectRefused(
      spLogin(connector, { signing: 'assertion', subjectInResponseTo: null }),
      'in_response_to_mismatch',
    );
  });

  it('refuses an IdP-initiated response whose envelope claims to answer a request', async () => {
    const { connector } = setup();
    await expectRefused(
      connector.complete(
        responseFor({ inResponseTo: '_some-request', subjectInResponseTo: null }),
        {
          allowIdpInitiated: true,
        },
      ),
      'in_response_to_mismatch',
    );
  });

  it('refuses an expired subject confirmation even when the conditions are current', async () => {
    const { connector } = setup();
    await expectRefused(
      connector.complete(responseFor({ subjectNotOnOrAfter: new Date(Date.now() - 5 * 60_000) }), {
        allowIdpInitiated: true,
      }),
      'assertion_expired',
    );
  });

  it('refuses a replayed assertion id', async () => {
    const { connector } = setup();
    const assertionId = '_assertion-once';
    await connector.complete(responseFor({ assertionId }), { allowIdpInitiated: true });
    await expectRefused(
      connector.complete(responseFor({ assertionId }), { allowIdpInitiated: true }),
      'assertion_replayed',
    );
    // Also across two SP-initiated logins that each have a valid request id.
    const fresh = setup().connector;
    await spLogin(fresh, { assertionId });
    await expectRefused(spLogin(fresh, { assertionId }), 'assertion_replayed');
  });

  it('refuses input that is not a SAML Response', async () => {
    const { connector } = setup();
    const idpInitiated = { allowIdpInitiated: true };
    await expectRefused(connector.complete('not base64!', idpInitiated), 'malformed');
    const other = Buffer.from('<foo xmlns="urn:x"/>').toString('base64');
    await expectRefused(connector.complete(other, idpInitiated), 'malformed');
  });
});

describe('SAML metadata and configuration', () => {
  it('reads IdP metadata', () => {
    const metadata = parseIdpMetadata(idp.metadataXml());
    expect(metadata.idpEntityId).toBe(idp.entityId);
    expect(metadata.idpSsoUrl).toBe(idp.ssoUrl);
    expect(metadata.idpSigningCertsPem.map((p) => p.replace(/\s+/g, ''))).toEqual([
      idp.certPem.replace(/\s+/g, ''),
    ]);
  });

  it('refuses IdP metadata with a DOCTYPE', () => {
    const xml = idp
      .metadataXml()
      .replace('<?xml version="1.0"?>', '<!DOCTYPE x [<!ENTITY a "b">]>');
    expect(() => parseIdpMetadata(xml)).toThrow(SamlConfigError);
    try {
      parseIdpMetadata(xml);
    } catch (err) {
      expect((err as SamlConfigError).code).toBe('metadata_doctype_forbidden');
    }
  });

  it('publishes SP metadata with the entity id and ACS URL', () => {
    const xml = spMetadata(parseSamlTenantConfig(configFor()));
    expect(xml).toContain(`entityID="${SP_ENTITY_ID}"`);
    expect(xml).toContain(`Location="${ACS_URL}"`);
    expect(xml).toContain('WantAssertionsSigned="true"');
  });

  it('fills safe defaults and refuses a config that signs nothing', () => {
    const config = parseSamlTenantConfig(configFor());
    expect(config.clockSkewSeconds).toBe(60);
    expect(config.wantAssertionsSigned).toBe(true);
    expect(config.wantResponseSigned).toBe(true);
    expect(config.allowSha1Signatures).toBe(false);
    expect(() =>
      parseSamlTenantConfig(configFor({ wantAssertionsSigned: false, wantResponseSigned: false })),
    ).toThrow(SamlConfigError);
    expect(() => parseSamlTenantConfig(configFor({ idpSigningCertsPem: ['nope'] }))).toThrow(
      SamlConfigError,
    );
  });
});
