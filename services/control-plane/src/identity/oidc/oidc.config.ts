import { z } from 'zod';
import { OidcConfigError } from './oidc.errors';

/** Asymmetric algorithms only: `none` and HS* (which could be keyed with a public key) are not offered. */
export const OIDC_ID_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const claimName = z.string().min(1).max(200);

/**
 * One tenant's OIDC connector, as a tenant admin configures it. `clientSecret` is sensitive: it is
 * kept inside the connector and never logged or serialised.
 */
export const oidcConnectorConfigSchema = z
  .object({
    /** The issuer identifier exactly as the IdP publishes it (discovery is read from it). */
    issuer: z.url({ protocol: /^https?$/ }),
    clientId: z.string().min(1).max(500),
    clientSecret: z.string().min(1).max(2000),
    /** How the client secret is presented at the token endpoint. */
    tokenEndpointAuthMethod: z
      .enum(['client_secret_basic', 'client_secret_post'])
      .default('client_secret_basic'),
    /** Causeway's callback URL for this tenant, registered at the IdP. */
    redirectUri: z
      .url({ protocol: /^https?$/ })
      // openid-client sends the callback URL without its query as redirect_uri, so it has none.
      .refine((u) => new URL(u).search === '' && new URL(u).hash === '', 'no query or fragment'),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope token'))
      .max(50)
      .default(['openid', 'email', 'profile'])
      .refine((s) => s.includes('openid'), 'scopes must include "openid"'),
    /** The one algorithm the IdP signs ID tokens with (its JWKS provides the key). */
    idTokenSigningAlg: z.enum(OIDC_ID_TOKEN_ALGORITHMS).default('RS256'),
    claims: z
      .object({
        email: claimName.default('email'),
        name: claimName.default('name'),
        groups: claimName.default('groups'),
      })
      .prefault({}),
    /** How long a started sign-in may take, in seconds. */
    maxLoginAgeSeconds: z.number().int().min(30).max(3600).default(600),
    /** Tolerance for the ID token's time claims, in seconds. */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /** Timeout of each request to the IdP, in seconds. */
    httpTimeoutSeconds: z.number().int().min(1).max(60).default(10),
  })
  .strict();

export type OidcConnectorConfigInput = z.input<typeof oidcConnectorConfigSchema>;
export type OidcConnectorConfig = z.output<typeof oidcConnectorConfigSchema>;

export interface OidcConnectorOptions {
  /** The time source for expiry checks; the system clock when omitted. */
  clock?: { now(): Date };
  /**
   * Tests only: let the connector talk to an issuer over plain http (e.g. a provider on
   * 127.0.0.1). Production configuration never sets it, and then http issuers are refused.
   */
  allowInsecureHttp?: boolean;
}

/**
 * Validates a connector's settings. Throws `OidcConfigError` naming the wrong fields (never their
 * values: one of them is a secret).
 */
export function parseOidcConnectorConfig(
  input: unknown,
  options: Pick<OidcConnectorOptions, 'allowInsecureHttp'> = {},
): OidcConnectorConfig {
  const parsed = oidcConnectorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(
      ', ',
    );
    throw new OidcConfigError('config_invalid', `Check: ${fields}.`);
  }
  const config = parsed.data;
  if (options.allowInsecureHttp !== true) {
    if (new URL(config.issuer).protocol !== 'https:') {
      throw new OidcConfigError(
        'insecure_issuer',
        `Got an ${new URL(config.issuer).protocol} URL.`,
      );
    }
    if (new URL(config.redirectUri).protocol !== 'https:') {
      throw new OidcConfigError('config_invalid', 'The redirect URI must use https.');
    }
  }
  return config;
}
