/**
 * Stable codes for every way the node's key management refuses a request. Callers map them to
 * bridge replies in one place; messages never contain key material.
 */
export type KeysErrorCode =
  /** An argument is outside what the API accepts (empty id, bad period). */
  | 'invalid_argument'
  /** The key that protected this object or workspace was destroyed: the data is unreadable. */
  | 'key_destroyed'
  /** No data key is recorded for this object id. */
  | 'data_key_not_found'
  /** A data key already exists for this object id; it is never replaced silently. */
  | 'data_key_exists'
  /** A wrapped data key failed authentication (altered, moved to another object, wrong key). */
  | 'data_key_invalid'
  /** The workspace has no master key (nothing to rotate). */
  | 'master_key_not_found'
  /** The workspace's keys belong to another tenant than the one named. */
  | 'tenant_mismatch'
  /** The node seal secret does not open this node's keystore (wrong passphrase or key file). */
  | 'keystore_locked'
  /** master-seal.key exists but is unusable (wrong size, readable by others). */
  | 'seal_key_file_invalid'
  /** The rotation job does not exist. */
  | 'rotation_job_not_found'
  /** The key services were closed. */
  | 'keys_closed';

/** The only error type the keys module throws on purpose; switch on `code`, not on messages. */
export class KeysError extends Error {
  override readonly name = 'KeysError';

  constructor(
    readonly code: KeysErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isKeysError(value: unknown, code?: KeysErrorCode): value is KeysError {
  return value instanceof KeysError && (code === undefined || value.code === code);
}
