import { randomBytes, randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type supertest from 'supertest';
import { DataSource } from 'typeorm';
import { TestSamlIdp, type TestSamlResponseOptions } from '@causeway/testing';
import { SystemClock } from '../src/common/clock';
import { PgSamlReplayStore } from '../src/identity/sign-in/saml-stores.pg';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { Stack } from './harness';

const REQUEST_COOKIE = 'causeway_saml_request';

interface SamlConnectorView {
  id: string;
  kind: string;
  loginUrl: string;
  metadataUrl: string;
  spEntityId: string;
  acsUrl: string;
  redirectUri?: string;
  settings: Record<string, unknown>;
}

/**
 * Sign-in with SAML 2.0 through the HTTP routes, against a test IdP that signs real XML: the
 * admin uploads the IdP metadata, the browser goes to the IdP and posts the response back to
 * the tenant's ACS, a session opens. The XML attacks are the SAML core's unit tests; here, the
 * wiring: stores in PostgreSQL, tenants apart, users linked, roles mapped, refusals audited.
 */
describe('SAML sign-in through the API (real control plane, test SAML IdP, PostgreSQL)', () => {
  let stack: Stack;
  let idp: TestSamlIdp;
  let acme: SamlConnectorView;
  let globex: SamlConnectorView;

  function addSaml(tenant: string, body: Record<string, unknown>): supertest.Test {
    return stack
      .http()
      .post(`/api/v1/tenants/${tenant}/identity-providers`)
      .send({ kind: 'saml', idpMetadataXml: idp.metadataXml(), ...body });
  }

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    idp = await TestSamlIdp.create();
    acme = (
      await addSaml('acme', {
        name: 'Acme SAML',
        attributes: { email: 'email', name: 'displayName' },
        roleMapping: {
          attribute: 'groups',
          values: { 'causeway-admins': 'tenant-admin', operators: 'operator' },
        },
      }).expect(201)
    ).body as SamlConnectorView;
    globex = (await addSaml('globex', { name: 'Globex SAML' }).expect(201))
      .body as SamlConnectorView;
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** Plays the browser's first leg: our login route, which redirects to the IdP. */
  async function startLogin(
    connector: SamlConnectorView,
    tenant = 'acme',
  ): Promise<{ requestId: string; cookie: string; location: URL }> {
    const res = await stack
      .anonymous()
      .get(`/api/v1/auth/${tenant}/saml/login?provider=${connector.id}`)
      .expect(302);
    const location = new URL(String(res.headers.location));
    const request = inflateRawSync(
      Buffer.from(location.searchParams.get('SAMLRequest') ?? '', 'base64'),
    ).toString('utf8');
    const requestId = /\bID="([^"]+)"/.exec(request)?.[1] ?? '';
    const cookie = /causeway_saml_request=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1];
    expect(cookie).toBe(`${connector.id}.${requestId}`);
    return { requestId, cookie: `${REQUEST_COOKIE}=${cookie}`, location };
  }

  function responseFor(
    connector: SamlConnectorView,
    options: Partial<TestSamlResponseOptions> = {},
  ): string {
    return idp.response({
      spEntityId: connector.spEntityId,
      acsUrl: connector.acsUrl,
      nameId: 'ada@acme.test',
      attributes: {
        email: 'ada@acme.test',
        displayName: 'Ada Lovelace',
        groups: ['causeway-admins', 'not-mapped'],
      },
      ...options,
    });
  }

  /** Plays the IdP's HTTP-POST binding: the browser posts the form to the ACS. */
  function post(
    connector: SamlConnectorView,
    samlResponse: string,
    cookie?: string,
    tenant = 'acme',
  ): Promise<supertest.Response> {
    const req = stack
      .anonymous()
      .post(`/api/v1/auth/${tenant}/saml/acs?provider=${connector.id}`)
      .type('form')
      .set('Cookie', cookie ?? '');
    return req.send({ SAMLResponse: samlResponse, RelayState: 'https://evil.example/' });
  }

  async function me(res: supertest.Response) {
    const token = /causeway_session=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1] ?? '';
    expect(token).not.toBe('');
    return stack
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', `${SESSION_COOKIE}=${token}`)
      .expect(200);
  }

  function refusedWith(res: supertest.Response, reason: string) {
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({
      status: 401,
      body: { code: 'sign_in_failed', details: { reason } },
    });
    expect(String(res.headers['set-cookie'])).not.toContain(`${SESSION_COOKIE}=`);
  }

  it('adds a SAML connector from the IdP metadata, with its own SP URLs', () => {
    const base = `${stack.config.publicUrl}/api/v1/auth/acme/saml`;
    expect(acme).toMatchObject({
      kind: 'saml',
      loginUrl: `${base}/login?provider=${acme.id}`,
      metadataUrl: `${base}/metadata?provider=${acme.id}`,
      spEntityId: `${base}/metadata?provider=${acme.id}`,
      acsUrl: `${base}/acs?provider=${acme.id}`,
      settings: {
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpSigningCertsPem: [expect.stringContaining('-----BEGIN CERTIFICATE-----')],
        allowIdpInitiated: false,
        trustEmail: false,
      },
    });
    expect(acme.redirectUri).toBeUndefined();
    expect(globex.acsUrl).toContain('/api/v1/auth/globex/saml/acs?provider=');
  });

  it('lists the SAML connector on the public sign-in page with its login URL', async () => {
    const res = await stack.anonymous().get('/api/v1/auth/acme/methods').expect(200);
    expect(res.body.items).toEqual([
      { id: acme.id, kind: 'saml', name: 'Acme SAML', loginUrl: acme.loginUrl },
    ]);
  });

  it('serves the SP metadata naming the entity id and the ACS, publicly', async () => {
    const res = await stack
      .anonymous()
      .get(`/api/v1/auth/acme/saml/metadata?provider=${acme.id}`)
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/samlmetadata\+xml/);
    expect(res.text).toContain(`entityID="${acme.spEntityId}"`);
    expect(res.text).toMatch(
      new RegExp(
        `AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="${acme.acsUrl.replace(/[.?]/g, '\\$&')}"`,
      ),
    );
    // Another tenant's connector is not this tenant's.
    await stack
      .anonymous()
      .get(`/api/v1/auth/globex/saml/metadata?provider=${acme.id}`)
      .expect(404);
  });

  it('signs a user in (SP-initiated): session, authMethod saml, mapped roles stored', async () => {
    const { requestId, cookie, location } = await startLogin(acme);
    expect(`${location.origin}${location.pathname}`).toBe(idp.ssoUrl);
    const res = await post(acme, responseFor(acme, { inResponseTo: requestId }), cookie);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const cookies = String(res.headers['set-cookie']);
    expect(cookies).toContain('HttpOnly');
    expect(cookies).toContain(`${REQUEST_COOKIE}=;`); // the request binding is forgotten
    const who = await me(res);
    expect(who.body).toMatchObject({
      kind: 'user',
      email: 'ada@acme.test',
      authMethod: 'saml',
      ssoRoles: ['tenant-admin'],
    });
    const rows = await stack.app
      .get(DataSource)
      .query<Array<{ sso_roles: string[]; display_name: string }>>(
        "SELECT sso_roles, display_name FROM users WHERE lower(email) = 'ada@acme.test'",
      );
    expect(rows).toEqual([{ sso_roles: ['tenant-admin'], display_name: 'Ada Lovelace' }]);

    // The next sign-in finds the same user by NameID and replaces the roles with the new mapping.
    const again = await startLogin(acme);
    const second = await post(
      acme,
      responseFor(acme, {
        inResponseTo: again.requestId,
        attributes: { email: 'ada@acme.test', groups: ['operators'] },
      }),
      again.cookie,
    );
    expect(second.status).toBe(303);
    expect((await me(second)).body).toMatchObject({
      id: who.body.id as string,
      ssoRoles: ['operator'],
    });
  });

  it('refuses a response posted twice to an SP-initiated login', async () => {
    const { requestId, cookie } = await startLogin(acme);
    const response = responseFor(acme, { inResponseTo: requestId });
    expect((await post(acme, response, cookie)).status).toBe(303);
    refusedWith(await post(acme, response, cookie), 'in_response_to_mismatch');
  });

  it('refuses an InResponseTo of a request never made, and one made in another browser', async () => {
    const forged = `_${randomBytes(20).toString('hex')}`;
    refusedWith(
      await post(
        acme,
        responseFor(acme, { inResponseTo: forged }),
        `${REQUEST_COOKIE}=${acme.id}.${forged}`,
      ),
      'in_response_to_mismatch',
    );
    // A genuine request, but answered in a browser that did not start it (login CSRF).
    const { requestId } = await startLogin(acme);
    refusedWith(
      await post(acme, responseFor(acme, { inResponseTo: requestId })),
      'unsolicited_refused',
    );
    const elsewhere = await startLogin(acme);
    refusedWith(
      await post(acme, responseFor(acme, { inResponseTo: requestId }), elsewhere.cookie),
      'in_response_to_mismatch',
    );
  });

  it('refuses IdP-initiated sign-in by default and accepts it where allowed, once', async () => {
    refusedWith(await post(acme, responseFor(acme)), 'unsolicited_refused');

    const portal = (
      await addSaml('acme', {
        name: 'Acme portal',
        allowIdpInitiated: true,
        trustEmail: true,
      }).expect(201)
    ).body as SamlConnectorView;
    expect(portal.settings).toMatchObject({ allowIdpInitiated: true, trustEmail: true });
    const response = responseFor(portal, { nameId: 'ada-portal-id' });
    const res = await post(portal, response);
    expect(res.status).toBe(303);
    // trustEmail: the first sign-in through this connector links to the existing account.
    expect((await me(res)).body).toMatchObject({ email: 'ada@acme.test', authMethod: 'saml' });
    const linked = await stack.app
      .get(DataSource)
      .query<Array<{ users: string }>>(
        "SELECT count(DISTINCT user_id)::text AS users FROM user_identities WHERE subject IN ('ada@acme.test', 'ada-portal-id')",
      );
    expect(linked).toEqual([{ users: '1' }]);

    refusedWith(await post(portal, response), 'assertion_replayed');
  });

  it('never lets an untrusted e-mail take over an existing account', async () => {
    const { requestId, cookie } = await startLogin(acme);
    refusedWith(
      await post(
        acme,
        responseFor(acme, { inResponseTo: requestId, nameId: 'someone-else' }),
        cookie,
      ),
      'email_unverified',
    );
  });

  it("refuses tenant A's response at tenant B's ACS", async () => {
    const { requestId } = await startLogin(acme);
    const forAcme = responseFor(acme, { inResponseTo: requestId });
    const atGlobex = await startLogin(globex, 'globex');
    refusedWith(await post(globex, forAcme, atGlobex.cookie, 'globex'), 'destination_mismatch');
    // Acme's connector does not exist at globex at all.
    const res = await post(acme, forAcme, atGlobex.cookie, 'globex');
    expect(res.status).toBe(404);
  });

  it('records every refusal in the audit trail with its reason', async () => {
    const acmeEvents = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events?type=auth.sign_in.failed')
      .expect(200);
    const reasons = (acmeEvents.body.items as Array<{ reason: string; details: unknown }>).map(
      (e) => e.reason,
    );
    expect(reasons).toEqual(
      expect.arrayContaining([
        'in_response_to_mismatch',
        'unsolicited_refused',
        'assertion_replayed',
        'email_unverified',
      ]),
    );
    expect(acmeEvents.body.items[0]).toMatchObject({
      outcome: 'failure',
      details: { method: 'saml' },
    });
    const globexEvents = await stack
      .http()
      .get('/api/v1/tenants/globex/audit-events?type=auth.sign_in.failed')
      .expect(200);
    expect((globexEvents.body.items as Array<{ reason: string }>).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['destination_mismatch', 'not_found']),
    );
  });

  it('refuses bad IdP metadata and bad role names with 400 validation_failed', async () => {
    const withDoctype = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]>${idp.metadataXml().replace('<?xml version="1.0"?>', '')}`;
    for (const body of [
      { name: 'Broken 1', idpMetadataXml: 'not xml at all' },
      { name: 'Broken 2', idpMetadataXml: withDoctype },
      {
        name: 'Broken 3',
        idpMetadataXml: idp.metadataXml().replace(/<md:KeyDescriptor.*<\/md:KeyDescriptor>/, ''),
      },
      { name: 'Broken 4', roleMapping: { attribute: 'groups', values: { admins: 'Admin!' } } },
    ]) {
      const res = await addSaml('acme', body);
      expect({ name: body.name, status: res.status, code: res.body.code as unknown }).toEqual({
        name: body.name,
        status: 400,
        code: 'validation_failed',
      });
    }
    const listed = await stack.http().get('/api/v1/tenants/acme/identity-providers').expect(200);
    expect((listed.body.items as Array<{ name: string }>).map((p) => p.name)).toEqual([
      'Acme SAML',
      'Acme portal',
    ]);
  });

  it('the replay store lets exactly one of many concurrent uses of an assertion id pass', async () => {
    const store = new PgSamlReplayStore(stack.app.get(DataSource), new SystemClock());
    const tenantId = randomUUID();
    const until = new Date(Date.now() + 60_000);
    for (let round = 0; round < 5; round++) {
      const id = `_${randomBytes(16).toString('hex')}`;
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => store.consume(tenantId, id, until)),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    }
    // An expired entry is taken over by a new use; the same id at another tenant is separate.
    const id = `_${randomBytes(16).toString('hex')}`;
    expect(await store.consume(tenantId, id, new Date(Date.now() - 1000))).toBe(true);
    expect(await store.consume(tenantId, id, until)).toBe(true);
    expect(await store.consume(tenantId, id, until)).toBe(false);
    expect(await store.consume(randomUUID(), id, until)).toBe(true);
  });
});
