import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { EnvelopeError } from './errors';

/**
 * Wire constants and the chunk primitive of envelope format version 1 (see FORMAT.md). Every
 * other file of this module goes through `sealChunk` and `openChunk`, so the IV, tag length and
 * additional data are decided in one place.
 */

/** "CWEF": Causeway encrypted file. */
export const ENVELOPE_MAGIC = Buffer.from('CWEF', 'ascii');
export const ENVELOPE_VERSION = 1;
/** magic (4) + version (1) + reserved zeros (3) + chunk size (uint32 BE). */
export const ENVELOPE_HEADER_LENGTH = 12;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
/** Bytes a chunk record adds to its plaintext: IV and tag. */
export const CHUNK_OVERHEAD = IV_LENGTH + TAG_LENGTH;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const MIN_CHUNK_SIZE = 64 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/**
 * Random 96-bit IVs stay safe for up to 2^32 encryptions under one key (NIST SP 800-38D); each
 * object has its own data key, so this caps one object at 2^32 chunks (256 TiB at 64 KiB).
 */
export const MAX_CHUNKS = 2 ** 32;
export const DATA_KEY_LENGTH = 32;
/** Longest object id accepted, in UTF-8 bytes. */
export const MAX_OBJECT_ID_BYTES = 1024;

const ALGORITHM = 'aes-256-gcm';

/** A 256-bit AES key: raw bytes (copied) or a secret KeyObject of 32 bytes. */
export type AesKey = Uint8Array | KeyObject;

/** Validates and copies a 256-bit key into a KeyObject, so the caller may wipe its buffer. */
export function toKeyObject(key: AesKey, what: string): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type === 'secret' && key.symmetricKeySize === DATA_KEY_LENGTH) return key;
  } else if (key instanceof Uint8Array && key.length === DATA_KEY_LENGTH) {
    return createSecretKey(key);
  }
  throw new EnvelopeError('invalid_argument', `The ${what} must be exactly 32 bytes.`);
}

/** UTF-8 bytes of an id; refuses empty, over-long and ill-formed strings (lone surrogates). */
export function idBytes(id: unknown, what: string): Buffer {
  if (typeof id !== 'string' || id.length === 0) {
    throw new EnvelopeError('invalid_argument', `The ${what} must be a non-empty string.`);
  }
  const bytes = Buffer.from(id, 'utf8');
  // Lone surrogates all encode to U+FFFD: two different ids would bind the same bytes.
  if (bytes.toString('utf8') !== id) {
    throw new EnvelopeError('invalid_argument', `The ${what} is not well-formed Unicode.`);
  }
  if (bytes.length > MAX_OBJECT_ID_BYTES) {
    throw new EnvelopeError(
      'invalid_argument',
      `The ${what} is longer than ${MAX_OBJECT_ID_BYTES} bytes.`,
    );
  }
  return bytes;
}

export function checkChunkSize(chunkSize: unknown): number {
  if (
    typeof chunkSize !== 'number' ||
    !Number.isSafeInteger(chunkSize) ||
    chunkSize < MIN_CHUNK_SIZE ||
    chunkSize > MAX_CHUNK_SIZE
  ) {
    throw new EnvelopeError(
      'invalid_argument',
      `The chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes.`,
    );
  }
  return chunkSize;
}

export function encodeHeader(chunkSize: number): Buffer {
  const header = Buffer.alloc(ENVELOPE_HEADER_LENGTH);
  ENVELOPE_MAGIC.copy(header, 0);
  header.writeUInt8(ENVELOPE_VERSION, 4);
  header.writeUInt32BE(chunkSize, 8);
  return header;
}

/** Reads and checks a header; returns its chunk size. */
export function decodeHeader(header: Buffer): number {
  if (header.length < ENVELOPE_HEADER_LENGTH) {
    throw new EnvelopeError('header_invalid', 'The object is shorter than its header.');
  }
  if (!header.subarray(0, 4).equals(ENVELOPE_MAGIC)) {
    throw new EnvelopeError('header_invalid', 'The object is not an encrypted Causeway object.');
  }
  const version = header.readUInt8(4);
  if (version !== ENVELOPE_VERSION) {
    throw new EnvelopeError(
      'unsupported_version',
      `Envelope format version ${version} is unknown.`,
    );
  }
  if (header[5] !== 0 || header[6] !== 0 || header[7] !== 0) {
    throw new EnvelopeError('header_invalid', 'The reserved header bytes are not zero.');
  }
  const chunkSize = header.readUInt32BE(8);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new EnvelopeError(
      'header_invalid',
      `The header's chunk size ${chunkSize} is out of range.`,
    );
  }
  return chunkSize;
}

/**
 * The additional data of every chunk of one object, with the index and final flag left to fill
 * in: magic (4) | version (1) | chunk size (uint32 BE) | chunk index (uint64 BE) | final (1) |
 * object id length (uint32 BE) | object id (UTF-8).
 */
export class ChunkAad {
  private readonly bytes: Buffer;

  constructor(objectId: Buffer, chunkSize: number) {
    this.bytes = Buffer.alloc(4 + 1 + 4 + 8 + 1 + 4 + objectId.length);
    ENVELOPE_MAGIC.copy(this.bytes, 0);
    this.bytes.writeUInt8(ENVELOPE_VERSION, 4);
    this.bytes.writeUInt32BE(chunkSize, 5);
    this.bytes.writeUInt32BE(objectId.length, 18);
    objectId.copy(this.bytes, 22);
  }

  /** Returns a fresh buffer: OpenSSL copies the AAD, but callers must not share one anyway. */
  for(index: number, final: boolean): Buffer {
    const aad = Buffer.from(this.bytes);
    aad.writeBigUInt64BE(BigInt(index), 9);
    aad.writeUInt8(final ? 1 : 0, 17);
    return aad;
  }
}

/** The parameters every chunk of one object shares. */
export interface ChunkContext {
  key: KeyObject;
  aad: ChunkAad;
}

/** Encrypts one chunk under a fresh random IV: returns IV, ciphertext and tag, in that order. */
export function sealChunk(
  context: ChunkContext,
  plaintext: Uint8Array,
  index: number,
  final: boolean,
): Buffer[] {
  if (index >= MAX_CHUNKS) {
    throw new EnvelopeError('object_too_large', 'The object needs more than 2^32 chunks.');
  }
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv(ALGORITHM, context.key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(context.aad.for(index, final));
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  const parts = [iv, body];
  if (rest.length > 0) parts.push(rest);
  parts.push(cipher.getAuthTag());
  return parts;
}

/**
 * Decrypts and verifies one chunk record (IV + ciphertext + tag) as chunk `index`; returns its
 * plaintext only once the tag has been checked, or `undefined` if it does not authenticate.
 */
export function openChunk(
  context: ChunkContext,
  record: Buffer,
  index: number,
  final: boolean,
): Buffer | undefined {
  if (record.length < CHUNK_OVERHEAD || index >= MAX_CHUNKS) return undefined;
  const iv = record.subarray(0, IV_LENGTH);
  const tag = record.subarray(record.length - TAG_LENGTH);
  try {
    const decipher = createDecipheriv(ALGORITHM, context.key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(context.aad.for(index, final));
    decipher.setAuthTag(tag);
    const body = decipher.update(record.subarray(IV_LENGTH, record.length - TAG_LENGTH));
    const rest = decipher.final();
    return rest.length > 0 ? Buffer.concat([body, rest]) : body;
  } catch {
    return undefined;
  }
}

/** Chunks an object of `plainSize` bytes takes: an empty object still has one (empty, final). */
export function chunkCountFor(plainSize: number, chunkSize: number): number {
  return plainSize === 0 ? 1 : Math.ceil(plainSize / chunkSize);
}

/** Size of the stored object (header and all chunk records) for a plaintext of `plainSize`. */
export function ciphertextSizeFor(plainSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  checkChunkSize(chunkSize);
  checkSize(plainSize);
  return ENVELOPE_HEADER_LENGTH + plainSize + chunkCountFor(plainSize, chunkSize) * CHUNK_OVERHEAD;
}

/**
 * Plaintext size of a stored object of `ciphertextSize` bytes (header included), e.g. from an
 * object store's listing. Throws `header_invalid` or `truncated` for a size no object can have.
 */
export function plaintextSizeFor(ciphertextSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  checkChunkSize(chunkSize);
  checkSize(ciphertextSize);
  const body = ciphertextSize - ENVELOPE_HEADER_LENGTH;
  if (body === CHUNK_OVERHEAD) return 0;
  if (body < CHUNK_OVERHEAD) {
    throw new EnvelopeError('truncated', 'No object is that small.');
  }
  const record = chunkSize + CHUNK_OVERHEAD;
  const full = Math.floor(body / record);
  const rest = body - full * record;
  if (rest === 0) return full * chunkSize;
  if (rest <= CHUNK_OVERHEAD) {
    throw new EnvelopeError('truncated', 'No object has that size with this chunk size.');
  }
  return full * chunkSize + rest - CHUNK_OVERHEAD;
}

function checkSize(size: unknown): void {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new EnvelopeError('invalid_argument', 'A size must be a non-negative integer.');
  }
}
