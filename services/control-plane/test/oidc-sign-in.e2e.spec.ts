import supertest from 'supertest';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { startOidcProvider, type TestOidcProvider } from '@causeway/testing';
import { Stack } from './harness';

/**
 * Sign-in with OIDC through the HTTP routes, against panva's oidc-provider started by the test:
 * the admin adds the connector, the user follows the redirects, a session opens.
 */
describe('OIDC sign-in through the API (real control plane, oidc-provider, PostgreSQL)', () => {
  let stack: Stack;
  let idp: TestOidcProvider;
  let providerId: string;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    idp = await startOidcProvider({
      redirectUris: [`${stack.config.publicUrl}/api/v1/auth/acme/oidc/callback`],
    });
    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/identity-providers')
      .send({
        kind: 'oidc',
        name: 'Acme SSO',
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
      })
      .expect(201);
    providerId = created.body.id as string;
    expect(created.body.redirectUri).toBe(
      `${stack.config.publicUrl}/api/v1/auth/acme/oidc/callback`,
    );
    expect(JSON.stringify(created.body)).not.toContain(idp.clientSecret);
  });

  afterAll(async () => {
    await idp?.stop();
    await stack?.close();
  });

  /** Plays the browser: our login route, the provider's pages, back to our callback. */
  async function signIn(tenant = 'acme'): Promise<supertest.Response> {
    const start = await stack
      .anonymous()
      .get(`/api/v1/auth/${tenant}/oidc/login?provider=${providerId}`)
      .expect(302);
    const callback = new URL(await idp.login(String(start.headers.location)));
    return stack.anonymous().get(callback.pathname + callback.search);
  }

  it('lists the sign-in methods of a tenant, publicly, without secrets', async () => {
    const res = await stack.anonymous().get('/api/v1/auth/acme/methods').expect(200);
    expect(res.body.items).toEqual([
      expect.objectContaining({ id: providerId, kind: 'oidc', name: 'Acme SSO' }),
    ]);
    expect(
      (await stack.anonymous().get('/api/v1/auth/globex/methods').expect(200)).body.items,
    ).toEqual([]);
  });

  it('signs a user in: a session cookie for the user the provider vouched for', async () => {
    const res = await signIn();
    expect(res.status).toBe(303);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toContain(`${SESSION_COOKIE}=`);
    expect(cookie).toContain('HttpOnly');
    const token = /causeway_session=([^;]+)/.exec(cookie)?.[1] ?? '';
    const me = await stack
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', `${SESSION_COOKIE}=${token}`)
      .expect(200);
    expect(me.body).toMatchObject({ kind: 'user', email: 'ada@example.test', authMethod: 'oidc' });
  });

  it('refuses a replayed callback, a forged state, and a callback at another tenant', async () => {
    const start = await stack
      .anonymous()
      .get(`/api/v1/auth/acme/oidc/login?provider=${providerId}`)
      .expect(302);
    const callback = new URL(await idp.login(String(start.headers.location)));
    // At another tenant's callback, the attempt is not found: refused, and not consumed.
    const elsewhere = await stack
      .anonymous()
      .get(`/api/v1/auth/globex/oidc/callback${callback.search}`)
      .expect(401);
    expect(elsewhere.body).toMatchObject({ code: 'sign_in_failed' });
    await stack
      .anonymous()
      .get(callback.pathname + callback.search)
      .expect(303);
    const replay = await stack
      .anonymous()
      .get(callback.pathname + callback.search)
      .expect(401);
    expect(replay.body).toMatchObject({
      code: 'sign_in_failed',
      details: { reason: 'state_mismatch' },
    });
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state-value');
    const bad = await stack
      .anonymous()
      .get(forged.pathname + forged.search)
      .expect(401);
    expect(bad.body.details).toEqual({ reason: 'state_mismatch' });
  });

  it('refuses an ID token the provider did not sign, and opens no session', async () => {
    await idp.tamperNextIdToken('unknown-key');
    const res = await signIn();
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'sign_in_failed',
      details: { reason: 'id_token_invalid' },
    });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('keeps connectors per tenant and behind the admin permission', async () => {
    await stack.anonymous().get('/api/v1/tenants/acme/identity-providers').expect(401);
    const listed = await stack.http().get('/api/v1/tenants/acme/identity-providers').expect(200);
    expect(listed.body.items).toHaveLength(1);
    await stack
      .http()
      .delete(`/api/v1/tenants/globex/identity-providers/${providerId}`)
      .expect(404);
    const bad = await stack
      .http()
      .post('/api/v1/tenants/acme/identity-providers')
      .send({ kind: 'oidc', name: 'broken', issuer: 'not a url', clientId: 'x', clientSecret: 'y' })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('never lets an unverified e-mail from another provider take over an existing account', async () => {
    const other = await startOidcProvider({
      redirectUris: [`${stack.config.publicUrl}/api/v1/auth/acme/oidc/callback`],
      account: { sub: 'someone-else', email: 'ada@example.test', email_verified: false },
    });
    try {
      const created = await stack
        .http()
        .post('/api/v1/tenants/acme/identity-providers')
        .send({
          kind: 'oidc',
          name: 'Other IdP',
          issuer: other.issuer,
          clientId: other.clientId,
          clientSecret: other.clientSecret,
        })
        .expect(201);
      const start = await stack
        .anonymous()
        .get(`/api/v1/auth/acme/oidc/login?provider=${created.body.id as string}`)
        .expect(302);
      const callback = new URL(await other.login(String(start.headers.location)));
      const res = await stack
        .anonymous()
        .get(callback.pathname + callback.search)
        .expect(401);
      expect(res.body.details).toEqual({ reason: 'email_unverified' });
      expect(res.headers['set-cookie']).toBeUndefined();
      // Removing a connector takes it off the sign-in page.
      await stack
        .http()
        .delete(`/api/v1/tenants/acme/identity-providers/${created.body.id as string}`)
        .expect(204);
      const methods = await stack.anonymous().get('/api/v1/auth/acme/methods').expect(200);
      expect((methods.body.items as Array<{ name: string }>).map((m) => m.name)).toEqual([
        'Acme SSO',
      ]);
    } finally {
      await other.stop();
    }
  });
});
