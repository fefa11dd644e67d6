import { isEnvelopeError, unwrapDataKey, wrapDataKey } from '@causeway/crypto';
import { KeysError } from './keys.errors';

/** What a wrapped data key is bound to: it unwraps only for this object under this master key. */
export interface DataKeyContext {
  objectId: string;
  masterKeyId: string;
}

/**
 * Wraps and unwraps per-object data keys under a workspace master key. The keys module depends
 * on this interface; the implementation is libs/crypto's envelope key wrapping (AES-256-GCM, the
 * object id and master key id in the additional data), so there is one wrapping format.
 */
export interface DataKeyWrapper {
  wrap(dataKey: Buffer, masterKey: Buffer, ctx: DataKeyContext): Buffer;
  unwrap(wrapped: Buffer, masterKey: Buffer, ctx: DataKeyContext): Buffer;
}

/** libs/crypto's wrapped form is a short ASCII string; node.db keeps its bytes. */
export const envelopeDataKeyWrapper: DataKeyWrapper = {
  wrap(dataKey, masterKey, ctx) {
    return Buffer.from(wrapDataKey(dataKey, masterKey, ctx), 'ascii');
  },

  unwrap(wrapped, masterKey, ctx) {
    try {
      return unwrapDataKey(wrapped.toString('ascii'), masterKey, ctx);
    } catch (cause) {
      if (!isEnvelopeError(cause)) throw cause;
      throw new KeysError(
        'data_key_invalid',
        'The wrapped data key cannot be opened: altered, moved, or the wrong master key.',
        { cause },
      );
    }
  },
};
