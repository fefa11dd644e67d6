/**
 * Every way an OIDC sign-in can be refused, with a stable code. The session layer maps these to
 * its HTTP answer and audit event in one place; the message is for people (an admin reading a
 * log or a support ticket) and never contains a secret, a token or a code.
 */
export const OIDC_LOGIN_ERROR_CODES = {
  state_mismatch:
    'The sign-in response does not belong to the sign-in that was started (state mismatch).',
  nonce_mismatch: 'The ID token was not issued for this sign-in (nonce mismatch).',
  issuer_mismatch: 'The sign-in response or ID token comes from an unexpected issuer.',
  pkce_failed: 'The PKCE code verifier of this sign-in is missing or malformed.',
  code_rejected:
    'The identity provider refused the authorization code (expired, already used, or the PKCE verifier did not match).',
  id_token_invalid:
    'The identity provider returned an ID token that could not be verified (signature, algorithm, key or claims).',
  id_token_expired: 'The identity provider returned an ID token that has already expired.',
  login_expired: 'The sign-in took too long; start again.',
  callback_invalid: 'The sign-in response is malformed.',
  provider_error: 'The identity provider answered with an error.',
  provider_unreachable: 'The identity provider could not be reached or gave an unusable answer.',
} as const;

export type OidcLoginErrorCode = keyof typeof OIDC_LOGIN_ERROR_CODES;

/** A refused OIDC sign-in. `code` is stable; `message` is for people. */
export class OidcLoginError extends Error {
  override readonly name = 'OidcLoginError';

  constructor(
    readonly code: OidcLoginErrorCode,
    /** Extra, non-secret detail for the log (e.g. the provider's `error` code). */
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(
      detail === undefined
        ? OIDC_LOGIN_ERROR_CODES[code]
        : `${OIDC_LOGIN_ERROR_CODES[code]} (${detail})`,
      options,
    );
  }
}

export const OIDC_CONFIG_ERROR_CODES = {
  config_invalid: 'The OIDC connector settings are invalid.',
  insecure_issuer: 'The issuer URL must use https.',
  discovery_failed: "The identity provider's discovery document could not be loaded or is invalid.",
} as const;

export type OidcConfigErrorCode = keyof typeof OIDC_CONFIG_ERROR_CODES;

/** A connector that cannot work as configured: an admin has to fix the settings or the IdP. */
export class OidcConfigError extends Error {
  override readonly name = 'OidcConfigError';

  constructor(
    readonly code: OidcConfigErrorCode,
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(
      detail === undefined
        ? OIDC_CONFIG_ERROR_CODES[code]
        : `${OIDC_CONFIG_ERROR_CODES[code]} ${detail}`,
      options,
    );
  }
}
