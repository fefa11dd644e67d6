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

/**
 * The HTTP status each code maps to, for the one place that turns errors into answers. A
 * `Record` over the code type, so adding a code without a status does not compile.
 */
export const EMAIL_CODES_HTTP_STATUS: Readonly<Record<EmailCodesErrorCode, number>> = {
  code_invalid: 401,
  code_expired: 401,
  too_many_attempts: 429,
  rate_limited: 429,
  email_invalid: 400,
  mail_failed: 502,
};

/** Base of every error this module throws. */
export class EmailCodesError extends Error {
  constructor(
    readonly code: EmailCodesErrorCode,
    detail?: string,
  ) {
    super(detail ? `${EMAIL_CODES_ERRORS[code]} ${detail}` : EMAIL_CODES_ERRORS[code]);
    this.name = 'EmailCodesError';
  }

  /** The HTTP status the transport layer answers with. */
  get status(): number {
    return EMAIL_CODES_HTTP_STATUS[this.code];
  }
}
