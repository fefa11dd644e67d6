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

  /**
   * Plays the browser up to the provider's answer: our login route (which sets the browser's
   * binding cookie), the provider's pages. Returns the callback path and the cookie.
   */
  async function startLogin(
    provider = providerId,
    at: TestOidcProvider = idp,
  ): Promise<{ path: string; cookie: string }> {
    const start = await stack
      .anonymous()
      .get(`/api/v1/auth/acme/oidc/login?provider=${provider}`)
      .expect(302);
    const setCookie = String(start.headers['set-cookie']);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('Path=/api/v1/auth/acme/oidc/');
    const cookie = /causeway_oidc_attempt=[^;]+/.exec(setCookie)?.[0] ?? '';
    const callback = new URL(await at.login(String(start.headers.location)));
    return { path: callback.pathname + callback.search, cookie };
  }

  /** Back at our callback, in the browser that started (its cookie) or another one. */
  function callback(path: string, cookie?: string): supertest.Test {
    const req = stack.anonymous().get(path);
    return cookie ? req.set('Cookie', cookie) : req;
  }

  /** The whole sign-in, in one browser. */
  async function signIn(): Promise<supertest.Response> {
    const { path, cookie } = await startLogin();
    return callback(path, cookie);
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
    const { path, cookie } = await startLogin();
    const search = path.slice(path.indexOf('?'));
    // At another tenant's callback, the attempt is not found: refused, and not consumed.
    const elsewhere = await callback(`/api/v1/auth/globex/oidc/callback${search}`, cookie).expect(
      401,
    );
    expect(elsewhere.body).toMatchObject({ code: 'sign_in_failed' });
    await callback(path, cookie).expect(303);
    const replay = await callback(path, cookie).expect(401);
    expect(replay.body).toMatchObject({
      code: 'sign_in_failed',
      details: { reason: 'state_mismatch' },
    });
    const forged = `${path.slice(0, path.indexOf('?'))}?${new URLSearchParams({
      ...Object.fromEntries(new URLSearchParams(search)),
      state: 'forged-state-value',
    }).toString()}`;
    const bad = await callback(forged, cookie).expect(401);
    expect(bad.body.details).toEqual({ reason: 'state_mismatch' });
  });

  it('refuses an answer completed in a browser that did not start the sign-in (login CSRF), without using it up', async () => {
    // An attacker starts a sign-in with their own account and gets a victim's browser to
    // open the callback: the victim's browser has no binding cookie, or another attempt's.
    const attacker = await startLogin();
    const victim = await startLogin();
    const none = await callback(attacker.path).expect(401);
    expect(none.body.details).toEqual({ reason: 'browser_mismatch' });
    expect(String(none.headers['set-cookie'])).not.toContain('causeway_session=');
    const other = await callback(attacker.path, victim.cookie).expect(401);
    expect(other.body.details).toEqual({ reason: 'state_mismatch' });
    // The attempt was not consumed: the browser that started it still completes it.
    await callback(attacker.path, attacker.cookie).expect(303);
    const failures = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events?type=auth.sign_in.failed')
      .expect(200);
    expect(
      (failures.body.items as Array<{ reason: string; details: { method: string } }>).some(
        (e) => e.reason === 'browser_mismatch' && e.details.method === 'oidc',
      ),
    ).toBe(true);
  });

  it('audits a sign-in started with a connector the tenant does not have', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const res = await stack
      .anonymous()
      .get(`/api/v1/auth/acme/oidc/login?provider=${unknown}`)
      .expect(404);
    expect(res.body.code).toBe('not_found');
    const failures = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events?type=auth.sign_in.failed')
      .expect(200);
    expect(failures.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          reason: 'not_found',
          details: { method: 'oidc', providerId: unknown },
        }),
      ]),
    );
  });

  it('refuses an ID token the provider did not sign, and opens no session', async () => {
    await idp.tamperNextIdToken('unknown-key');
    const res = await signIn();
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'sign_in_failed',
      details: { reason: 'id_token_invalid' },
    });
    expect(String(res.headers['set-cookie'])).not.toContain('causeway_session=');
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
      const started = await startLogin(created.body.id as string, other);
      const res = await callback(started.path, started.cookie).expect(401);
      expect(res.body.details).toEqual({ reason: 'email_unverified' });
      expect(String(res.headers['set-cookie'])).not.toContain('causeway_session=');
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
