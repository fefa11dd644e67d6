/**
 * Envelope encryption of workspace files: one random data key per object, AES-256-GCM in
 * verified chunks for constant-memory streams and range downloads, data keys wrapped by a
 * master key. The format is specified in FORMAT.md.
 */
export { EnvelopeError, isEnvelopeError } from './errors';
export type { EnvelopeErrorCode } from './errors';
export {
  CHUNK_OVERHEAD,
  DEFAULT_CHUNK_SIZE,
  ENVELOPE_HEADER_LENGTH,
  ENVELOPE_VERSION,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  ciphertextSizeFor,
  plaintextSizeFor,
} from './format';
export type { AesKey } from './format';
export { EnvelopeEncryptStream, createEncryptStream } from './encrypt-stream';
export type { EncryptStreamOptions, EncryptSummary } from './encrypt-stream';
export {
  EnvelopeDecryptStream,
  EnvelopeRangeDecryptStream,
  createDecryptStream,
  createRangeDecryptStream,
} from './decrypt-stream';
export type {
  DecryptStreamOptions,
  DecryptSummary,
  RangeDecryptStreamOptions,
} from './decrypt-stream';
export { ciphertextRangeFor } from './ranges';
export type { CiphertextRange } from './ranges';
export {
  WRAPPED_KEY_VERSION,
  generateDataKey,
  rewrapDataKey,
  unwrapDataKey,
  wrapDataKey,
} from './data-key';
export type { DataKeyContext, RewrapContext } from './data-key';
