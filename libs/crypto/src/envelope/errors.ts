/**
 * Stable codes for every way envelope encryption refuses an input. The node maps them to
 * transport errors in one place (a download whose object fails verification is a 500 with an
 * error id and an alert, a bad range is a 416); messages never contain key material or
 * plaintext.
 */
export type EnvelopeErrorCode =
  /** An argument is outside what the API accepts (key length, object id, chunk size). */
  | 'invalid_argument'
  /** The stream does not start with a well-formed header (magic, reserved bytes, chunk size). */
  | 'header_invalid'
  /** The header names a format version this code does not read. */
  | 'unsupported_version'
  /**
   * A chunk failed authentication: altered bytes, chunks re-ordered or moved from another
   * object, a wrong object id, a wrong data key or a chunk size that does not match. GCM cannot
   * tell these apart, and neither can we.
   */
  | 'chunk_invalid'
  /** The stream ended before its final chunk (cut at a chunk boundary or inside a header). */
  | 'truncated'
  /** Bytes follow the final chunk (or follow the last chunk a range decryption needed). */
  | 'trailing_data'
  /** The object would need more chunks than one data key may encrypt (2^32). */
  | 'object_too_large'
  /** A requested plaintext range is empty, reversed or outside the object. */
  | 'range_invalid'
  /** A wrapped data key is malformed, altered, or opened with the wrong master key or context. */
  | 'wrapped_key_invalid';

/**
 * The only error type envelope encryption throws (or emits on a stream) on purpose, so that
 * callers can switch on `code` exhaustively. `cause` keeps the OpenSSL error for logs.
 */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';

  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Narrowing helper for callers and tests. */
export function isEnvelopeError(value: unknown, code?: EnvelopeErrorCode): value is EnvelopeError {
  return value instanceof EnvelopeError && (code === undefined || value.code === code);
}
