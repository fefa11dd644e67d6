/**
 * Why a SAML login or an IdP metadata upload was refused. Stable codes with one sentence each for
 * people; the session layer maps them to HTTP and the audit log records the code. The message never
 * carries the assertion, a certificate or a user attribute: those stay in the debug `detail`.
 */
export const SAML_LOGIN_ERRORS = {
  malformed: 'The SAML response is not a well-formed SAML 2.0 Response.',
  doctype_forbidden:
    'The SAML response contains a DOCTYPE or entity declaration, which is refused.',
  comment_forbidden: 'The SAML response contains an XML comment, which is refused.',
  signature_invalid:
    'The SAML response is not signed as required by the identity provider certificate configured for this organisation.',
  signature_algorithm_refused:
    'The SAML response is signed with an algorithm that is not accepted (for example SHA-1).',
  untrusted_certificate:
    'The SAML response carries a signing certificate that is not configured for this organisation.',
  issuer_mismatch:
    'The SAML response comes from an identity provider other than the configured one.',
  assertion_expired: 'The SAML assertion has expired. Sign in again.',
  assertion_not_yet_valid:
    'The SAML assertion is not valid yet. The identity provider clock may be wrong.',
  subject_confirmation_invalid: 'The SAML assertion has no valid bearer subject confirmation.',
  audience_mismatch: 'The SAML assertion is meant for another service provider.',
  destination_mismatch: 'The SAML response was sent to another address than this organisation.',
  recipient_mismatch: 'The SAML assertion was issued for another address than this organisation.',
  in_response_to_mismatch:
    'The SAML response does not answer the sign-in request started in this browser.',
  assertion_replayed: 'This SAML assertion has already been used. Sign in again.',
  unsolicited_refused:
    'Sign-in started at the identity provider is not allowed here. Start from the Causeway sign-in page.',
  idp_error: 'The identity provider refused the sign-in.',
  name_id_missing: 'The SAML assertion does not name the user.',
} as const;

export type SamlLoginErrorCode = keyof typeof SAML_LOGIN_ERRORS;

/** Every refusal of `SamlConnector.complete`. `detail` is for logs only, never for the browser. */
export class SamlLoginError extends Error {
  constructor(
    readonly code: SamlLoginErrorCode,
    readonly detail?: string,
  ) {
    super(SAML_LOGIN_ERRORS[code]);
    this.name = 'SamlLoginError';
  }
}

export function isSamlLoginError(
  value: unknown,
  code?: SamlLoginErrorCode,
): value is SamlLoginError {
  return value instanceof SamlLoginError && (code === undefined || value.code === code);
}

export const SAML_CONFIG_ERRORS = {
  metadata_invalid: 'The identity provider metadata could not be read.',
  metadata_doctype_forbidden:
    'The identity provider metadata contains a DOCTYPE, which is refused.',
  metadata_ambiguous: 'The metadata describes more than one identity provider; upload one only.',
  metadata_incomplete:
    'The identity provider metadata lacks an entity id, a single sign-on URL or a signing certificate.',
  config_invalid: 'The SAML configuration is not valid.',
} as const;

export type SamlConfigErrorCode = keyof typeof SAML_CONFIG_ERRORS;

/** Refusal of an admin's SAML configuration or uploaded IdP metadata. */
export class SamlConfigError extends Error {
  constructor(
    readonly code: SamlConfigErrorCode,
    readonly detail?: string,
  ) {
    super(detail ? `${SAML_CONFIG_ERRORS[code]} ${detail}` : SAML_CONFIG_ERRORS[code]);
    this.name = 'SamlConfigError';
  }
}
