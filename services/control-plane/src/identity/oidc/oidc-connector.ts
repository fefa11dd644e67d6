import { inspect } from 'node:util';
import { secretsEqual } from '@causeway/crypto';
import * as oidc from 'openid-client';
import {
  parseOidcConnectorConfig,
  type OidcConnectorConfig,
  type OidcConnectorOptions,
} from './oidc.config';
import { OidcConfigError, OidcLoginError, type OidcLoginErrorCode } from './oidc.errors';

/**
 * What the session layer keeps server-side between `begin()` and `complete()`. It must never be
 * sent to the browser: the code verifier and nonce are what prove the callback belongs to it.
 */
export interface PendingOidcLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** ISO 8601 time `begin()` was called, by the connector's clock. */
  createdAt: string;
}

export interface OidcLoginStart {
  /** Where to send the browser. */
  authorizationUrl: URL;
  pending: PendingOidcLogin;
}

/** A verified sign-in, with the tenant's claim mapping applied. */
export interface OidcIdentity {
  /** The IdP's `sub`: stable per issuer; with `issuer` it identifies the person. */
  subject: string;
  issuer: string;
  email?: string;
  /** True only when the IdP asserts `email_verified: true`; do not link accounts otherwise. */
  emailVerified: boolean;
  name?: string;
  groups: string[];
  /** Every claim of the verified ID token, for audit and later mappings. */
  claims: Record<string, unknown>;
}

/** RFC 7636: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const PROVIDER_ERROR_CODE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const SYSTEM_CLOCK = { now: () => new Date() };

/**
 * One tenant's OIDC connector: authorization code flow with PKCE (S256), state, nonce, the RFC
 * 9207 `iss` response parameter, ID token verification with one pinned asymmetric algorithm and
 * the IdP's own JWKS, and claim mapping. It holds no session and no HTTP route: the session layer
 * keeps `pending` server-side and calls `complete()` with the callback URL.
 */
export class OidcConnector {
  readonly config: Omit<OidcConnectorConfig, 'clientSecret'>;
  readonly #clientSecret: string;
  readonly #clock: { now(): Date };
  readonly #allowInsecureHttp: boolean;
  #discovery?: Promise<oidc.Configuration>;

  constructor(config: unknown, options: OidcConnectorOptions = {}) {
    const parsed = parseOidcConnectorConfig(config, options);
    const { clientSecret, ...rest } = parsed;
    this.config = rest;
    this.#clientSecret = clientSecret;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#allowInsecureHttp = options.allowInsecureHttp === true;
  }

  /** Starts a sign-in: the URL to send the browser to, and what to keep until the callback. */
  async begin(): Promise<OidcLoginStart> {
    const configuration = await this.discover();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const pending: PendingOidcLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier,
      createdAt: this.#clock.now().toISOString(),
    };
    const authorizationUrl = oidc.buildAuthorizationUrl(configuration, {
      response_type: 'code',
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes.join(' '),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { authorizationUrl, pending };
  }

  /**
   * Finishes a sign-in from the URL the IdP redirected the browser to. Refuses, with an
   * `OidcLoginError`, anything that does not belong to `pending` or cannot be verified. The
   * caller must delete `pending` before calling, whatever the outcome: it is single use.
   */
  async complete(callbackUrl: URL | string, pending: PendingOidcLogin): Promise<OidcIdentity> {
    this.checkPending(pending);
    const discovered = await this.discover();
    const server = discovered.serverMetadata();
    const params = this.callbackParameters(callbackUrl);

    const state = single(params, 'state');
    if (state === undefined || !secretsEqual(state, pending.state)) {
      throw new OidcLoginError('state_mismatch');
    }
    // RFC 9207: a response from another issuer (mix-up attack) is refused before the code is used.
    const iss = single(params, 'iss');
    if (
      iss === undefined
        ? server.authorization_response_iss_parameter_supported === true
        : iss !== server.issuer
    ) {
      throw new OidcLoginError('issuer_mismatch');
    }
    const error = single(params, 'error');
    if (error !== undefined) {
      throw new OidcLoginError(
        'provider_error',
        PROVIDER_ERROR_CODE.test(error) ? error : 'unprintable error code',
      );
    }
    if (single(params, 'code') === undefined) throw new OidcLoginError('callback_invalid');

    // The token request's redirect_uri is the configured one, whatever host the callback reached.
    const currentUrl = new URL(this.config.redirectUri);
    currentUrl.search = params.toString();

    const configuration = this.loginConfiguration(server);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (cause) {
      throw toLoginError(cause);
    }
    const claims = tokens.claims();
    if (claims === undefined || typeof claims.sub !== 'string' || claims.sub.length === 0) {
      throw new OidcLoginError('id_token_invalid', 'no subject');
    }
    return this.identity({ ...claims });
  }

  /** Loads the IdP's discovery document once per connector (a failed load is retried next time). */
  private discover(): Promise<oidc.Configuration> {
    this.#discovery ??= this.load().catch((cause: unknown) => {
      this.#discovery = undefined;
      throw cause;
    });
    return this.#discovery;
  }

  private async load(): Promise<oidc.Configuration> {
    let configuration: oidc.Configuration;
    try {
      configuration = await oidc.discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        this.clientMetadata(0),
        this.clientAuth(),
        {
          timeout: this.config.httpTimeoutSeconds,
          ...(this.#allowInsecureHttp ? { execute: [oidc.allowInsecureRequests] } : {}),
        },
      );
    } catch (cause) {
      throw new OidcConfigError('discovery_failed', describe(cause), { cause });
    }
    const server = configuration.serverMetadata();
    const algs = server.id_token_signing_alg_values_supported;
    if (Array.isArray(algs) && !algs.includes(this.config.idTokenSigningAlg)) {
      throw new OidcConfigError(
        'discovery_failed',
        `The provider does not sign ID tokens with ${this.config.idTokenSigningAlg}; it offers ${algs.join(', ')}.`,
      );
    }
    if (server.jwks_uri === undefined) {
      throw new OidcConfigError('discovery_failed', 'The provider publishes no jwks_uri.');
    }
    return configuration;
  }

  /**
   * A configuration for one login, so the connector's clock applies to the ID token's times. It
   * reads the IdP's JWKS afresh (one request per sign-in): a rotated-in key works at once and a
   * removed key stops working at once, instead of after a cache's lifetime.
   */
  private loginConfiguration(server: oidc.ServerMetadata): oidc.Configuration {
    const skewSeconds = Math.round((this.#clock.now().getTime() - Date.now()) / 1000);
    const configuration = new oidc.Configuration(
      server,
      this.config.clientId,
      this.clientMetadata(skewSeconds),
      this.clientAuth(),
    );
    configuration.timeout = this.config.httpTimeoutSeconds;
    // Without this, openid-client trusts an ID token from the token endpoint without checking its
    // signature (OIDC Core 3.1.3.7 allows that over TLS). Causeway verifies it against the JWKS.
    oidc.enableNonRepudiationChecks(configuration);
    if (this.#allowInsecureHttp) oidc.allowInsecureRequests(configuration);
    return configuration;
  }

  private clientMetadata(skewSeconds: number): Partial<oidc.ClientMetadata> {
    return {
      redirect_uris: [this.config.redirectUri],
      response_types: ['code'],
      // Pinned: openid-client then accepts only this algorithm, with a key from the IdP's JWKS.
      id_token_signed_response_alg: this.config.idTokenSigningAlg,
      [oidc.clockSkew]: skewSeconds,
      [oidc.clockTolerance]: this.config.clockToleranceSeconds,
    };
  }

  private clientAuth(): oidc.ClientAuth {
    return this.config.tokenEndpointAuthMethod === 'client_secret_post'
      ? oidc.ClientSecretPost(this.#clientSecret)
      : oidc.ClientSecretBasic(this.#clientSecret);
  }

  private checkPending(pending: PendingOidcLogin): void {
    const p = (pending ?? {}) as Partial<Record<keyof PendingOidcLogin, unknown>>;
    if (typeof p.state !== 'string' || p.state.length === 0) {
      throw new OidcLoginError('state_mismatch');
    }
    if (typeof p.nonce !== 'string' || p.nonce.length === 0) {
      throw new OidcLoginError('nonce_mismatch');
    }
    if (typeof p.codeVerifier !== 'string' || !CODE_VERIFIER.test(p.codeVerifier)) {
      throw new OidcLoginError('pkce_failed');
    }
    const createdAt = typeof p.createdAt === 'string' ? Date.parse(p.createdAt) : NaN;
    const ageMs = this.#clock.now().getTime() - createdAt;
    const toleranceMs = this.config.clockToleranceSeconds * 1000;
    if (
      !Number.isFinite(ageMs) ||
      ageMs > this.config.maxLoginAgeSeconds * 1000 ||
      ageMs < -toleranceMs
    ) {
      throw new OidcLoginError('login_expired');
    }
  }

  private callbackParameters(callbackUrl: URL | string): URLSearchParams {
    let url: URL;
    try {
      url = new URL(callbackUrl);
    } catch {
      throw new OidcLoginError('callback_invalid');
    }
    if (url.hash !== '' || url.searchParams.has('response')) {
      // Fragment or JARM responses are not what this connector asked for.
      throw new OidcLoginError('callback_invalid');
    }
    for (const name of ['state', 'iss', 'code', 'error']) {
      if (url.searchParams.getAll(name).length > 1) throw new OidcLoginError('callback_invalid');
    }
    return url.searchParams;
  }

  private identity(claims: Record<string, unknown>): OidcIdentity {
    const mapping = this.config.claims;
    const email = readClaim(claims, mapping.email);
    const name = readClaim(claims, mapping.name);
    return {
      subject: claims.sub as string,
      issuer: claims.iss as string,
      ...(typeof email === 'string' && email.length > 0 ? { email } : {}),
      emailVerified: typeof email === 'string' && claims.email_verified === true,
      ...(typeof name === 'string' && name.length > 0 ? { name } : {}),
      groups: toGroups(readClaim(claims, mapping.groups)),
      claims,
    };
  }

  toJSON(): Record<string, unknown> {
    return { ...this.config, clientSecret: '[redacted]' };
  }

  [inspect.custom](): string {
    return `OidcConnector ${inspect(this.toJSON())}`;
  }
}

function single(params: URLSearchParams, name: string): string | undefined {
  return params.get(name) ?? undefined;
}

/** A claim by its exact name, else by a dotted path into nested objects (`realm_access.roles`). */
function readClaim(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function toGroups(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return [...new Set(list.filter((g): g is string => typeof g === 'string' && g.length > 0))];
}

/** Walks an error's `cause` chain for the name of the claim a check failed on. */
function failedClaim(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const claim = (current as { claim?: unknown }).claim;
    if (typeof claim === 'string') return claim;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (error instanceof oidc.ClientError && error.code !== undefined) return error.code;
  if (error instanceof Error) return error.name;
  return 'unknown error';
}

/** Maps openid-client's failures during the code exchange to stable codes. */
function toLoginError(error: unknown): OidcLoginError {
  const wrap = (code: OidcLoginErrorCode, detail?: string): OidcLoginError =>
    new OidcLoginError(code, detail, { cause: error });
  if (error instanceof oidc.ResponseBodyError) {
    const detail = PROVIDER_ERROR_CODE.test(error.error) ? error.error : undefined;
    return error.error === 'invalid_grant' ? wrap('code_rejected') : wrap('provider_error', detail);
  }
  if (error instanceof oidc.AuthorizationResponseError) return wrap('provider_error');
  if (error instanceof oidc.ClientError) {
    const claim = failedClaim(error);
    switch (error.code ?? '') {
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        return claim === 'exp' ? wrap('id_token_expired') : wrap('id_token_invalid', claim);
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
        if (claim === 'nonce') return wrap('nonce_mismatch');
        if (claim === 'iss') return wrap('issuer_mismatch');
        return wrap('id_token_invalid', claim);
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
      case 'OAUTH_PARSE_ERROR':
      case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
        return wrap('provider_unreachable', error.code);
      default:
        return wrap('id_token_invalid', error.code);
    }
  }
  // fetch failures, timeouts (TypeError, DOMException) and anything unforeseen.
  return wrap('provider_unreachable', describe(error));
}
