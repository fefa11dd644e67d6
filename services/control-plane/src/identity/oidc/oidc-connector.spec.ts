import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { startOidcProvider, type TestOidcProvider } from '@causeway/testing';
import { OidcConnector, type PendingOidcLogin } from './oidc-connector';
import { OidcConfigError, OidcLoginError, type OidcLoginErrorCode } from './oidc.errors';

const REDIRECT_URI = 'https://causeway.test/t/acme/oidc/callback';

describe('OidcConnector against a real OpenID Provider', () => {
  let provider: TestOidcProvider;

  beforeAll(async () => {
    provider = await startOidcProvider({ redirectUris: [REDIRECT_URI] });
  });

  afterAll(async () => {
    await provider?.stop();
  });

  function connector(
    overrides: Record<string, unknown> = {},
    clock?: { now(): Date },
  ): OidcConnector {
    return new OidcConnector(
      {
        issuer: provider.issuer,
        clientId: provider.clientId,
        clientSecret: provider.clientSecret,
        redirectUri: REDIRECT_URI,
        scopes: ['openid', 'email', 'profile', 'groups'],
        ...overrides,
      },
      { allowInsecureHttp: true, ...(clock === undefined ? {} : { clock }) },
    );
  }

  /** Starts a sign-in and lets the test user log in and consent at the provider. */
  async function signIn(
    c: OidcConnector,
  ): Promise<{ callbackUrl: string; pending: PendingOidcLogin; authorizationUrl: URL }> {
    const { authorizationUrl, pending } = await c.begin();
    return { callbackUrl: await provider.login(authorizationUrl), pending, authorizationUrl };
  }

  async function refusal(promise: Promise<unknown>): Promise<OidcLoginErrorCode> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof OidcLoginError) return error.code;
      throw error;
    }
    throw new Error('the sign-in was accepted');
  }

  function causes(error: unknown): string[] {
    const messages: string[] = [];
    for (let e = error; e instanceof Error; e = e.cause) messages.push(e.message);
    return messages;
  }

  it('signs in with code + PKCE and maps the claims', async () => {
    const c = connector();
    const { callbackUrl, pending, authorizationUrl } = await signIn(c);

    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('state')).toBe(pending.state);
    expect(authorizationUrl.searchParams.get('nonce')).toBe(pending.nonce);
    expect(new URL(callbackUrl).searchParams.get('iss')).toBe(provider.issuer);

    const identity = await c.complete(callbackUrl, pending);
    expect(identity).toMatchObject({
      subject: 'user-42',
      issuer: provider.issuer,
      email: 'ada@example.test',
      emailVerified: true,
      name: 'Ada Lovelace',
      groups: ['engineering', 'admins'],
    });
    expect(identity.claims.nonce).toBe(pending.nonce);
  });

  it('sends an S256 challenge of the verifier it keeps', async () => {
    const { authorizationUrl, pending } = await connector().begin();
    const expected = createHash('sha256').update(pending.codeVerifier).digest('base64url');
    expect(authorizationUrl.searchParams.get('code_challenge')).toBe(expected);
    expect(pending.codeVerifier).not.toBe(expected);
  });

  describe('refuses', () => {
    it('a callback whose state is not the pending sign-in', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const other = (await c.begin()).pending;
      expect(await refusal(c.complete(callbackUrl, { ...pending, state: other.state }))).toBe(
        'state_mismatch',
      );
      const forged = new URL(callbackUrl);
      forged.searchParams.set('state', other.state);
      expect(await refusal(c.complete(forged, pending))).toBe('state_mismatch');
    });

    it('a callback without state', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const url = new URL(callbackUrl);
      url.searchParams.delete('state');
      expect(await refusal(c.complete(url, pending))).toBe('state_mismatch');
    });

    it('an ID token whose nonce is not the pending sign-in', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const other = (await c.begin()).pending;
      expect(await refusal(c.complete(callbackUrl, { ...pending, nonce: other.nonce }))).toBe(
        'nonce_mismatch',
      );
    });

    it('a callback whose iss is another issuer (RFC 9207)', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const url = new URL(callbackUrl);
      url.searchParams.set('iss', 'https://idp.attacker.test');
      expect(await refusal(c.complete(url, pending))).toBe('issuer_mismatch');
    });

    it('a callback without iss when the provider advertises it', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const url = new URL(callbackUrl);
      url.searchParams.delete('iss');
      expect(await refusal(c.complete(url, pending))).toBe('issuer_mismatch');
    });

    it('an ID token issued by another issuer', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      await provider.tamperNextIdToken('wrong-issuer');
      expect(await refusal(c.complete(callbackUrl, pending))).toBe('issuer_mismatch');
    });

    it('a discovery document that names another issuer', async () => {
      const c = connector({ issuer: provider.issuer.replace('127.0.0.1', 'localhost') });
      await expect(c.begin()).rejects.toMatchObject({
        name: 'OidcConfigError',
        code: 'discovery_failed',
      });
    });

    it('a pending sign-in without a PKCE verifier', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const withoutVerifier: Partial<PendingOidcLogin> = { ...pending };
      delete withoutVerifier.codeVerifier;
      expect(await refusal(c.complete(callbackUrl, withoutVerifier as PendingOidcLogin))).toBe(
        'pkce_failed',
      );
    });

    it('a code redeemed with another PKCE verifier (the provider checks it)', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      const other = (await c.begin()).pending;
      expect(
        await refusal(c.complete(callbackUrl, { ...pending, codeVerifier: other.codeVerifier })),
      ).toBe('code_rejected');
    });

    it('an authorization request without a PKCE challenge (the provider requires one)', async () => {
      const c = connector();
      const { authorizationUrl, pending } = await c.begin();
      authorizationUrl.searchParams.delete('code_challenge');
      authorizationUrl.searchParams.delete('code_challenge_method');
      const callbackUrl = await provider.login(authorizationUrl);
      expect(new URL(callbackUrl).searchParams.get('error')).toBe('invalid_request');
      expect(await refusal(c.complete(callbackUrl, pending))).toBe('provider_error');
    });

    it('a code used twice', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      await c.complete(callbackUrl, pending);
      expect(await refusal(c.complete(callbackUrl, pending))).toBe('code_rejected');
    });

    // The second column is the check that must refuse it (openid-client's own message), so the
    // test fails if that check is lost, not merely if something else refuses the token.
    it.each([
      ['alg-none', /"alg" header/],
      ['hs256-public-key', /"alg" header/],
      ['unknown-key', /no applicable keys/],
      ['wrong-key-same-kid', /signature verification failed/],
      ['wrong-audience', /"aud"/],
    ] as const)('an ID token tampered as %s', async (mode, check) => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      await provider.tamperNextIdToken(mode);
      const error = await c.complete(callbackUrl, pending).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OidcLoginError);
      expect(error).toMatchObject({ code: 'id_token_invalid' });
      expect(causes(error).join(' | ')).toMatch(check);
    });

    it('an ID token signed by a key the provider has removed from its JWKS', async () => {
      const c = connector();
      try {
        // Rotation: a new kid is accepted as soon as it is published...
        await provider.setSigningKeys({ published: ['k1', 'k2'], active: 'k2' });
        const first = await signIn(c);
        await expect(c.complete(first.callbackUrl, first.pending)).resolves.toMatchObject({
          subject: 'user-42',
        });
        // ...and the old one is refused as soon as it is withdrawn.
        await provider.setSigningKeys({ published: ['k2'], active: 'k1' });
        const second = await signIn(c);
        const error = await c.complete(second.callbackUrl, second.pending).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'id_token_invalid' });
        expect(causes(error).join(' | ')).toMatch(/no applicable keys/);
      } finally {
        await provider.setSigningKeys({ published: ['k1'], active: 'k1' });
      }
    });

    it('an ID token that has already expired', async () => {
      const c = connector();
      const { callbackUrl, pending } = await signIn(c);
      await provider.tamperNextIdToken('expired');
      expect(await refusal(c.complete(callbackUrl, pending))).toBe('id_token_expired');
    });

    it('an ID token that has expired by the injected clock', async () => {
      // The connector's clock runs two hours ahead of the provider: the fresh token is stale.
      const ahead = { now: () => new Date(Date.now() + 2 * 3600_000) };
      const c = connector({}, ahead);
      const { callbackUrl, pending } = await signIn(c);
      expect(await refusal(c.complete(callbackUrl, pending))).toBe('id_token_expired');
    });

    it('a sign-in older than maxLoginAgeSeconds', async () => {
      let now = Date.now();
      const c = connector({ maxLoginAgeSeconds: 60 }, { now: () => new Date(now) });
      const { callbackUrl, pending } = await signIn(c);
      now += 61_000;
      expect(await refusal(c.complete(callbackUrl, pending))).toBe('login_expired');
    });

    it('an error answer from the provider', async () => {
      const c = connector();
      const { pending } = await c.begin();
      const url = new URL(REDIRECT_URI);
      url.searchParams.set('error', 'access_denied');
      url.searchParams.set('state', pending.state);
      url.searchParams.set('iss', provider.issuer);
      const error = await c.complete(url, pending).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OidcLoginError);
      expect(error).toMatchObject({ code: 'provider_error' });
      expect((error as Error).message).toContain('access_denied');
    });
  });

  describe('configuration', () => {
    it('refuses an http issuer unless the test option allows it', () => {
      const build = (): OidcConnector =>
        new OidcConnector({
          issuer: provider.issuer,
          clientId: 'x',
          clientSecret: 'y',
          redirectUri: REDIRECT_URI,
        });
      expect(build).toThrow(OidcConfigError);
      expect(build).toThrow(expect.objectContaining({ code: 'insecure_issuer' }) as Error);
    });

    it('refuses scopes without openid and names fields, not values', () => {
      const secret = 'super-secret-value-that-must-not-leak';
      let error: unknown;
      try {
        new OidcConnector({
          issuer: 'https://idp.example.test',
          clientId: 'x',
          clientSecret: secret,
          redirectUri: REDIRECT_URI,
          scopes: ['email'],
          extra: secret,
        });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'config_invalid' });
      expect((error as Error).message).toContain('scopes');
      expect((error as Error).message).not.toContain(secret);
    });

    it('refuses a redirect URI with a query (it could not be sent back as registered)', () => {
      expect(() => connector({ redirectUri: `${REDIRECT_URI}?tenant=acme` })).toThrow(
        expect.objectContaining({ code: 'config_invalid' }) as Error,
      );
    });

    it('never shows the client secret', () => {
      const c = connector();
      expect(JSON.stringify(c)).not.toContain(provider.clientSecret);
      expect(inspect(c, { depth: 10 })).not.toContain(provider.clientSecret);
      expect(JSON.stringify(c.config)).not.toContain(provider.clientSecret);
    });

    it('maps claims by the configured names, including nested ones', async () => {
      const c = connector({ claims: { email: 'sub', name: 'email', groups: 'missing.path' } });
      const { callbackUrl, pending } = await signIn(c);
      const identity = await c.complete(callbackUrl, pending);
      expect(identity.email).toBe('user-42');
      expect(identity.emailVerified).toBe(true);
      expect(identity.name).toBe('ada@example.test');
      expect(identity.groups).toEqual([]);
    });
  });
});
