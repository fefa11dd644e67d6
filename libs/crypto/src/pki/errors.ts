/**
 * Stable codes for every way the PKI building blocks refuse an input. Callers map them to
 * transport errors in one place (enrolment answers `invalid_csr` as a 400, a failed
 * `certificate_*` check as a 401 on the bridge) and may log them; messages never contain
 * key material.
 */
export type PkiErrorCode =
  /** An argument is outside what the API accepts (bad id, validity out of range, short passphrase). */
  | 'invalid_argument'
  /** A PEM key could not be read, is not RSA, or is too weak to use. */
  | 'key_invalid'
  /** The CA certificate or key given to the signer is unusable (mismatch, not a CA, expired). */
  | 'ca_invalid'
  /** A CSR is malformed, unsigned, badly signed, not SHA-256, or carries a weak key. */
  | 'invalid_csr'
  /** A CSR is well formed but names a different node than the one being enrolled. */
  | 'csr_subject_mismatch'
  /** A certificate cannot be parsed or lacks what a node certificate must carry. */
  | 'certificate_invalid'
  /** A certificate was not issued by the trusted CA (wrong issuer, bad signature, unusable CA). */
  | 'certificate_untrusted'
  /** A certificate's validity ended before the injected `now`. */
  | 'certificate_expired'
  /** A certificate's validity starts after the injected `now`. */
  | 'certificate_not_yet_valid'
  /** A sealed key envelope is malformed, tampered with, or opened with the wrong secret. */
  | 'seal_invalid';

/**
 * The only error type the PKI module throws on purpose, so that callers can switch on `code`
 * exhaustively instead of matching message text. The `cause` keeps the library error (from
 * node-forge or OpenSSL) for logs; it is never shown to remote callers.
 */
export class PkiError extends Error {
  override readonly name = 'PkiError';

  constructor(
    readonly code: PkiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Narrowing helper for callers and tests. */
export function isPkiError(value: unknown, code?: PkiErrorCode): value is PkiError {
  return value instanceof PkiError && (code === undefined || value.code === code);
}
