import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EnvelopeError } from './errors';
import {
  type AesKey,
  DATA_KEY_LENGTH,
  IV_LENGTH,
  TAG_LENGTH,
  idBytes,
  toKeyObject,
} from './format';

/** What a wrapped data key is bound to: it unwraps only with the same two ids. */
export interface DataKeyContext {
  /** The object the data key encrypts, as given to the encrypt stream. */
  objectId: string;
  /** Names the master key (e.g. a KMS key version), so a wrap cannot pass under another one. */
  masterKeyId: string;
}

/** Context of a rotation: the wrapped key is bound to `masterKeyId` and moves to `newMasterKeyId`. */
export interface RewrapContext extends DataKeyContext {
  newMasterKeyId: string;
}

/** Version byte of the wrapped-key format; the first byte of the decoded string. */
export const WRAPPED_KEY_VERSION = 1;
/** version (1) + IV (12) + encrypted key (32) + tag (16). */
const WRAPPED_LENGTH = 1 + IV_LENGTH + DATA_KEY_LENGTH + TAG_LENGTH;
const PURPOSE = Buffer.from('causeway/envelope/data-key', 'ascii');

/** A fresh random 256-bit data key for one object. Wipe it (`fill(0)`) once wrapped and used. */
export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_LENGTH);
}

/**
 * Encrypts a data key under a master key with AES-256-GCM, a fresh IV and the object id and
 * master key id as additional data. Returns base64url (82 characters) of: version byte, IV,
 * encrypted key, tag; store it beside the object's metadata together with the master key id.
 */
export function wrapDataKey(
  dataKey: Uint8Array,
  masterKey: AesKey,
  context: DataKeyContext,
): string {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_LENGTH) {
    throw new EnvelopeError('invalid_argument', 'The data key must be exactly 32 bytes.');
  }
  const key = toKeyObject(masterKey, 'master key');
  const aad = wrapAad(context.objectId, context.masterKeyId);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const encrypted = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  const out = Buffer.concat([Buffer.of(WRAPPED_KEY_VERSION), iv, encrypted, cipher.getAuthTag()]);
  return out.toString('base64url');
}

/**
 * Decrypts what `wrapDataKey` produced with the same context. A malformed or altered value, a
 * wrong master key, object id or master key id all throw `wrapped_key_invalid`.
 */
export function unwrapDataKey(wrapped: string, masterKey: AesKey, context: DataKeyContext): Buffer {
  const key = toKeyObject(masterKey, 'master key');
  const aad = wrapAad(context.objectId, context.masterKeyId);
  const bytes =
    typeof wrapped === 'string' && /^[A-Za-z0-9_-]+$/.test(wrapped)
      ? Buffer.from(wrapped, 'base64url')
      : Buffer.alloc(0);
  if (bytes.length !== WRAPPED_LENGTH || bytes.toString('base64url') !== wrapped) {
    throw new EnvelopeError('wrapped_key_invalid', 'The wrapped data key is malformed.');
  }
  if (bytes[0] !== WRAPPED_KEY_VERSION) {
    throw new EnvelopeError('wrapped_key_invalid', `Wrapped key version ${bytes[0]} is unknown.`);
  }
  const iv = bytes.subarray(1, 1 + IV_LENGTH);
  const encrypted = bytes.subarray(1 + IV_LENGTH, 1 + IV_LENGTH + DATA_KEY_LENGTH);
  const tag = bytes.subarray(WRAPPED_LENGTH - TAG_LENGTH);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  } catch (cause) {
    throw new EnvelopeError(
      'wrapped_key_invalid',
      'The data key cannot be unwrapped: wrong master key or context, or altered data.',
      { cause },
    );
  }
}

/**
 * Master key rotation: unwraps under the old master key and wraps again under the new one with
 * a fresh IV. The object itself is not touched. The plain data key is wiped before returning.
 */
export function rewrapDataKey(
  wrapped: string,
  oldMasterKey: AesKey,
  newMasterKey: AesKey,
  context: RewrapContext,
): string {
  // Check the new side first, so a bad argument does not leave a plain key behind.
  toKeyObject(newMasterKey, 'new master key');
  idBytes(context.newMasterKeyId, 'new master key id');
  const dataKey = unwrapDataKey(wrapped, oldMasterKey, context);
  try {
    return wrapDataKey(dataKey, newMasterKey, {
      objectId: context.objectId,
      masterKeyId: context.newMasterKeyId,
    });
  } finally {
    dataKey.fill(0);
  }
}

/** purpose | version | master key id (length-prefixed) | object id (length-prefixed). */
function wrapAad(objectId: string, masterKeyId: string): Buffer {
  const object = idBytes(objectId, 'object id');
  const master = idBytes(masterKeyId, 'master key id');
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32BE(master.length, 0);
  lengths.writeUInt32BE(object.length, 4);
  return Buffer.concat([
    PURPOSE,
    Buffer.of(WRAPPED_KEY_VERSION),
    lengths.subarray(0, 4),
    master,
    lengths.subarray(4),
    object,
  ]);
}
