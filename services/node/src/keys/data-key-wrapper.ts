import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeysError } from './keys.errors';

/** What a wrapped data key is bound to: it unwraps only for this object under this master key. */
export interface DataKeyContext {
  objectId: string;
  masterKeyId: string;
}

/**
 * Wraps and unwraps per-object data keys under a workspace master key. The keys module depends
 * on this interface only, so that libs/crypto's envelope functions (wrapDataKey, unwrapDataKey)
 * can replace the stop-gap implementation below with a one-line adapter.
 */
export interface DataKeyWrapper {
  wrap(dataKey: Buffer, masterKey: Buffer, ctx: DataKeyContext): Buffer;
  unwrap(wrapped: Buffer, masterKey: Buffer, ctx: DataKeyContext): Buffer;
}

const FORMAT_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** The additional data: the context as JSON with a fixed field order. */
function aad(ctx: DataKeyContext): Buffer {
  return Buffer.from(
    JSON.stringify({ objectId: ctx.objectId, masterKeyId: ctx.masterKeyId }),
    'utf8',
  );
}

function checkKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new KeysError('invalid_argument', `The ${what} must be ${KEY_BYTES} bytes.`);
  }
}

/**
 * Stop-gap wrapper on node:crypto: AES-256-GCM, a fresh 96-bit IV per wrap, a 16-byte tag set
 * explicitly, and the context as additional data so that a wrapped key copied to another object
 * or master key id fails to unwrap. Layout: version (1) | IV (12) | tag (16) | ciphertext (32).
 */
export const nodeCryptoDataKeyWrapper: DataKeyWrapper = {
  wrap(dataKey, masterKey, ctx) {
    checkKey(dataKey, 'data key');
    checkKey(masterKey, 'master key');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(ctx));
    const data = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_V1), iv, cipher.getAuthTag(), data]);
  },

  unwrap(wrapped, masterKey, ctx) {
    checkKey(masterKey, 'master key');
    if (
      !Buffer.isBuffer(wrapped) ||
      wrapped.length !== 1 + IV_BYTES + TAG_BYTES + KEY_BYTES ||
      wrapped[0] !== FORMAT_V1
    ) {
      throw new KeysError('data_key_invalid', 'The wrapped data key has an unknown format.');
    }
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const data = wrapped.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad(ctx));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]);
    } catch (cause) {
      throw new KeysError(
        'data_key_invalid',
        'The wrapped data key cannot be opened: altered, moved, or the wrong master key.',
        { cause },
      );
    }
  },
};
