import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt as scryptCallback,
} from 'node:crypto';
import type { BinaryLike, ScryptOptions } from 'node:crypto';
import { PkiError } from './errors';

/**
 * Secret that seals a private key: either a passphrase (stretched with scrypt) or a 32-byte key
 * (e.g. from a KMS or a key file), used directly.
 */
export type SealingSecret = string | Uint8Array;

/**
 * The sealed form, serialised as JSON. Binary fields are base64. The scrypt cost is fixed by `v`
 * and not stored, so an attacker who edits the envelope cannot lower it; `kdf` and `salt` are
 * authenticated as additional data, so any edit makes decryption fail.
 */
export interface SealedEnvelope {
  v: 1;
  alg: 'aes-256-gcm';
  kdf: 'scrypt' | 'raw';
  /** base64, 16 bytes for scrypt, empty for raw. */
  salt: string;
  /** base64, 12 bytes (96-bit GCM nonce, random per seal). */
  iv: string;
  /** base64, 16 bytes. */
  tag: string;
  data: string;
}

/**
 * scrypt N=2^17, r=8, p=1 (OWASP's floor for scrypt): ~128 MiB and a few hundred ms per
 * derivation. Unsealing happens once per boot, so the cost only hurts an offline guesser.
 */
const SCRYPT = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const;
const MIN_PASSPHRASE_LENGTH = 12;
/** Binds the ciphertext to its purpose: a sealed PKI key cannot be passed off as another blob. */
const PURPOSE = 'causeway/pki/sealed-private-key';

/** Encrypts a PEM private key for storage at rest. */
export function sealPrivateKey(pem: string, secret: SealingSecret): Promise<string> {
  return sealSecret(pem, secret, PURPOSE);
}

/**
 * Encrypts any secret (an identity provider's client secret, say) for storage at rest, bound to
 * `purpose`: it opens only with the same purpose, so one kind of sealed value cannot stand in
 * for another.
 */
export async function sealSecret(
  pem: string,
  secret: SealingSecret,
  purpose: string,
): Promise<string> {
  if (typeof pem !== 'string' || pem.length === 0) {
    throw new PkiError('invalid_argument', 'Nothing to seal.');
  }
  const kdf = kdfFor(secret);
  const salt = kdf === 'scrypt' ? randomBytes(16) : Buffer.alloc(0);
  const key = await deriveKey(secret, kdf, salt);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(additionalData(purpose, kdf, salt));
  const data = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  const envelope: SealedEnvelope = {
    v: 1,
    alg: 'aes-256-gcm',
    kdf,
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  key.fill(0);
  return JSON.stringify(envelope);
}

/**
 * Decrypts what `sealPrivateKey` produced. A wrong secret, a malformed envelope or any change to
 * it throws `seal_invalid`; GCM authentication means it can never return altered plaintext.
 */
export function unsealPrivateKey(sealed: string, secret: SealingSecret): Promise<string> {
  return unsealSecret(sealed, secret, PURPOSE);
}

/** Decrypts what `sealSecret` produced with the same purpose. */
export async function unsealSecret(
  sealed: string,
  secret: SealingSecret,
  purpose: string,
): Promise<string> {
  const envelope = parseEnvelope(sealed);
  if (envelope.kdf !== kdfFor(secret)) {
    throw sealInvalid('The secret is not of the kind this key was sealed with.');
  }
  const key = await deriveKey(secret, envelope.kdf, envelope.salt);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, envelope.iv, { authTagLength: 16 });
    decipher.setAAD(additionalData(purpose, envelope.kdf, envelope.salt));
    decipher.setAuthTag(envelope.tag);
    const plain = Buffer.concat([decipher.update(envelope.data), decipher.final()]);
    return plain.toString('utf8');
  } catch (cause) {
    throw sealInvalid('The sealed key cannot be opened: wrong secret or altered data.', cause);
  } finally {
    key.fill(0);
  }
}

function kdfFor(secret: SealingSecret): SealedEnvelope['kdf'] {
  if (typeof secret === 'string') {
    if (secret.length < MIN_PASSPHRASE_LENGTH) {
      throw new PkiError(
        'invalid_argument',
        `A sealing passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters.`,
      );
    }
    return 'scrypt';
  }
  if (secret instanceof Uint8Array && secret.length === 32) return 'raw';
  throw new PkiError('invalid_argument', 'A sealing key must be a passphrase or exactly 32 bytes.');
}

async function deriveKey(
  secret: SealingSecret,
  kdf: SealedEnvelope['kdf'],
  salt: Buffer,
): Promise<Buffer> {
  if (kdf === 'raw') return Buffer.from(secret as Uint8Array);
  return scrypt(secret, salt, 32, SCRYPT);
}

function scrypt(
  password: BinaryLike,
  salt: BinaryLike,
  length: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, length, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function additionalData(purpose: string, kdf: SealedEnvelope['kdf'], salt: Buffer): Buffer {
  return Buffer.from(`${purpose}|v1|aes-256-gcm|${kdf}|${salt.toString('base64')}`, 'utf8');
}

interface ParsedEnvelope {
  kdf: SealedEnvelope['kdf'];
  salt: Buffer;
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

function parseEnvelope(sealed: string): ParsedEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(sealed);
  } catch (cause) {
    throw sealInvalid('The sealed key is not JSON.', cause);
  }
  if (typeof value !== 'object' || value === null)
    throw sealInvalid('The sealed key is not an object.');
  const e = value as Record<string, unknown>;
  const keys = Object.keys(e).sort().join(',');
  if (keys !== 'alg,data,iv,kdf,salt,tag,v' || e.v !== 1 || e.alg !== 'aes-256-gcm') {
    throw sealInvalid('Unknown sealed key format or version.');
  }
  if (e.kdf !== 'scrypt' && e.kdf !== 'raw') throw sealInvalid('Unknown key derivation.');
  const salt = base64Field(e.salt);
  const iv = base64Field(e.iv);
  const tag = base64Field(e.tag);
  const data = base64Field(e.data);
  if (
    salt.length !== (e.kdf === 'scrypt' ? 16 : 0) ||
    iv.length !== 12 ||
    tag.length !== 16 ||
    data.length === 0
  ) {
    throw sealInvalid('The sealed key has fields of the wrong size.');
  }
  return { kdf: e.kdf, salt, iv, tag, data };
}

/** Strict base64: Buffer.from silently skips bad characters, so round-trip to detect them. */
function base64Field(value: unknown): Buffer {
  if (typeof value !== 'string') throw sealInvalid('A sealed key field is not a string.');
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw sealInvalid('A sealed key field is not base64.');
  return bytes;
}

function sealInvalid(message: string, cause?: unknown): PkiError {
  return new PkiError('seal_invalid', message, cause === undefined ? undefined : { cause });
}
