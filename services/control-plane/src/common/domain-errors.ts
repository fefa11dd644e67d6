import { CausewayError, type ErrorCode } from '@causeway/contracts';
import { WebhookTargetError } from '../alerts/alerts.errors';
import { AllowListError } from '../identity/allow-list/allow-list.errors';
import {
  EmailCodesError,
  type EmailCodesErrorCode,
} from '../identity/email-codes/email-codes.errors';
import { LockedOutError, MfaError, type MfaErrorCode } from '../identity/mfa/mfa.errors';
import { OidcConfigError, OidcLoginError } from '../identity/oidc/oidc.errors';
import { SamlConfigError, SamlLoginError } from '../identity/saml/saml.errors';

/*
 * The identity and alert modules throw their own typed errors (they know nothing of HTTP). This is the one
 * place that says which answer each becomes; a `Record` over each module's codes, so a new code
 * without an answer does not compile. The module's own code travels as `details.reason`, which
 * is also what the audit trail records.
 */

const MFA_ANSWERS: Readonly<Record<MfaErrorCode, ErrorCode>> = {
  totp_invalid: 'sign_in_failed',
  totp_replayed: 'sign_in_failed',
  totp_not_enrolled: 'validation_failed',
  recovery_code_invalid: 'sign_in_failed',
  password_invalid: 'sign_in_failed',
  passwords_not_allowed: 'sign_in_method_not_allowed',
  locked_out: 'too_many_attempts',
};

const EMAIL_CODES_ANSWERS: Readonly<Record<EmailCodesErrorCode, ErrorCode>> = {
  code_invalid: 'sign_in_failed',
  code_expired: 'sign_in_failed',
  too_many_attempts: 'too_many_attempts',
  rate_limited: 'too_many_attempts',
  email_invalid: 'validation_failed',
  mail_failed: 'mail_unavailable',
};

/** The CausewayError a domain error answers as; a CausewayError as it is; undefined otherwise. */
export function asCausewayError(error: unknown): CausewayError | undefined {
  if (error instanceof CausewayError) return error;
  if (error instanceof LockedOutError) {
    return new CausewayError('too_many_attempts', error.message, {
      reason: error.code,
      retryAfter: error.lockedUntil.toISOString(),
    });
  }
  if (error instanceof MfaError) {
    return new CausewayError(MFA_ANSWERS[error.code], error.message, { reason: error.code });
  }
  if (error instanceof EmailCodesError) {
    return new CausewayError(EMAIL_CODES_ANSWERS[error.code], error.message, {
      reason: error.code,
    });
  }
  if (error instanceof OidcLoginError || error instanceof SamlLoginError) {
    return new CausewayError('sign_in_failed', error.message, { reason: error.code });
  }
  if (error instanceof AllowListError && error.code === 'address_not_allowed') {
    return new CausewayError('address_not_allowed');
  }
  if (
    error instanceof OidcConfigError ||
    error instanceof SamlConfigError ||
    error instanceof AllowListError ||
    error instanceof WebhookTargetError
  ) {
    return new CausewayError('validation_failed', error.message, { reason: error.code });
  }
  return undefined;
}

/** The machine-readable reason of a refusal, for the audit trail. */
export function reasonOf(error: CausewayError): string {
  const reason = error.details?.['reason'];
  return typeof reason === 'string' ? reason : error.code;
}
