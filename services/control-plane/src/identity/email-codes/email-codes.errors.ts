/**
 * Why an email sign-in code was refused or not sent. Stable codes, one sentence each for people;
 * none carries the code, its hash, the server key or SMTP credentials.
 */
export const EMAIL_CODES_ERRORS = {
  code_invalid: 'The code is not correct or has already been used.',
  code_expired: 'The code has expired. Ask for a new one.',
  too_many_attempts: 'Too many wrong codes. Ask for a new one later.',
  rate_limited: 'Too many codes were requested for this address. Try again later.',
  email_invalid: 'The email address is not valid.',
  mail_failed: 'The sign-in email could not be sent.',
} as const;

export type EmailCodesErrorCode = keyof typeof EMAIL_CODES_ERRORS;

/** Base of every error this module throws. */
export class EmailCodesError extends Error {
  constructor(
    readonly code: EmailCodesErrorCode,
    detail?: string,
  ) {
    super(detail ? `${EMAIL_CODES_ERRORS[code]} ${detail}` : EMAIL_CODES_ERRORS[code]);
    this.name = 'EmailCodesError';
  }
}
