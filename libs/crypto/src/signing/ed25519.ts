import {
  KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  sign,
  verify,
} from 'node:crypto';
import { promisify } from 'node:util';
import { PkiError } from '../pki/errors';

const generate = promisify(generateKeyPairCallback);

/**
 * Ed25519 keys sign what crosses the bridge on every request: the control plane's delegation
 * tokens and the node's replies. Not RSA: an RSA-3072 signature costs about 1.5 ms of CPU, an
 * Ed25519 one about 50 µs, and the bridge signs and verifies twice per request.
 */
export interface SigningKeyPairPem {
  /** SPKI PEM. */
  publicKeyPem: string;
  /** PKCS#8 PEM, unencrypted: seal it at rest. */
  privateKeyPem: string;
}

export async function generateSigningKeyPair(): Promise<SigningKeyPairPem> {
  const { publicKey, privateKey } = await generate('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/** Reads an Ed25519 private key; any other kind of key is refused. */
export function loadSigningPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new PkiError('key_invalid', 'The signing key cannot be read as PEM.', { cause });
  }
  requireEd25519(key);
  return key;
}

/** Reads an Ed25519 public key (SPKI PEM); any other kind of key is refused. */
export function loadSigningPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new PkiError('key_invalid', 'The signing public key cannot be read as PEM.', { cause });
  }
  requireEd25519(key);
  return key;
}

/**
 * A short, stable name for a public key: base64url of the first 16 bytes of the SHA-256 of its
 * SPKI encoding. Both sides compute it, so a key id can never point at another key.
 */
export function signingKeyId(key: KeyObject | string): string {
  const pub = typeof key === 'string' ? loadSigningPublicKey(key) : publicOf(key);
  const spki = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest().subarray(0, 16).toString('base64url');
}

/** A detached Ed25519 signature over exactly these bytes. */
export function signBytes(privateKey: KeyObject, bytes: Uint8Array): Buffer {
  return sign(null, bytes, privateKey);
}

/** False for any signature that does not verify, including malformed ones. */
export function verifyBytes(
  publicKey: KeyObject,
  bytes: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, bytes, publicKey, signature);
  } catch {
    return false;
  }
}

function publicOf(key: KeyObject): KeyObject {
  requireEd25519(key);
  return key.type === 'public' ? key : createPublicKey(key);
}

function requireEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PkiError(
      'key_invalid',
      `Only Ed25519 signing keys are accepted, not ${key.asymmetricKeyType ?? key.type}.`,
    );
  }
}
