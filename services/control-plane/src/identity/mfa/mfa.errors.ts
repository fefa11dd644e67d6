/**
 * Why a password, authenticator code or recovery code was refused. Stable codes with one
 * sentence each for people. None carries the secret, the code that was typed, or a hash; the
 * password message does not say whether the account or the password was wrong.
 */
export const MFA_ERRORS = {
  totp_invalid: 'The authenticator code is not correct.',
  totp_replayed: 'This authenticator code has already been used. Wait for the next one.',
  totp_not_enrolled: 'No authenticator app is set up for this account.',
  recovery_code_invalid: 'The recovery code is not correct or has already been used.',
  password_invalid: 'The email address or password is not correct.',
  passwords_not_allowed: 'This organisation does not allow signing in with a password.',
  locked_out: 'Too many failed attempts. Try again later.',
} as const;

export type MfaErrorCode = keyof typeof MFA_ERRORS;

/** Base of every error this module throws. */
export class MfaError extends Error {
  constructor(
    readonly code: MfaErrorCode,
    detail?: string,
  ) {
    super(detail ? `${MFA_ERRORS[code]} ${detail}` : MFA_ERRORS[code]);
    this.name = 'MfaError';
  }
}

/** Refused because the key had too many failures; says when trying again makes sense. */
export class LockedOutError extends MfaError {
  constructor(readonly lockedUntil: Date) {
    super('locked_out', `Try again after ${lockedUntil.toISOString()}.`);
    this.name = 'LockedOutError';
  }
}
