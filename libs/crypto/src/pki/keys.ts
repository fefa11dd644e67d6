import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
} from 'node:crypto';
import { promisify } from 'node:util';
import { PkiError } from './errors';

const generateRsa = promisify(generateKeyPairCallback);

/** A key pair as PEM text: SPKI public key, unencrypted PKCS#8 private key (seal it at rest). */
export interface KeyPairPem {
  publicKeyPem: string;
  privateKeyPem: string;
}

/**
 * RSA 3072: about 128-bit security (NIST SP 800-57) and the strongest key node-forge can put in
 * a CSR and certificate (it has no EC support for X.509). 65537 is the usual public exponent.
 */
export const RSA_MODULUS_BITS = 3072;
/** Below this we refuse keys from anyone (CSRs, signers, verifiers): 2048 is the NIST floor. */
export const MIN_RSA_BITS = 2048;
/** Above this, verifying is slow enough to be a denial-of-service lever; no legitimate node needs it. */
export const MAX_RSA_BITS = 8192;

/**
 * Generates an RSA 3072 key pair with node:crypto (OpenSSL). Not node-forge: its pure-JS
 * keygen takes 1.6 s median and blocks the event loop; this takes ~0.1-0.5 s on the thread pool.
 */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: RSA_MODULUS_BITS,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * Reads an RSA private key and refuses weak or non-RSA ones. Returns the KeyObject and a
 * PKCS#8 PEM re-export, so node-forge always receives a normalised, unencrypted PEM.
 */
export function loadRsaPrivateKey(pem: string): { key: KeyObject; pkcs8Pem: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new PkiError('key_invalid', 'The private key cannot be read as PEM.', { cause });
  }
  assertRsaStrength(key);
  return { key, pkcs8Pem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Reads an RSA public key (SPKI or PKCS#1 PEM, or a private key) and refuses weak or non-RSA ones. */
export function loadRsaPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new PkiError('key_invalid', 'The public key cannot be read as PEM.', { cause });
  }
  assertRsaStrength(key);
  return key;
}

/** Modulus size of an RSA KeyObject (0 when unknown). */
export function rsaModulusBits(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

function assertRsaStrength(key: KeyObject): void {
  // 'rsa-pss' keys carry parameter restrictions node-forge cannot honour: accept plain RSA only.
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PkiError('key_invalid', `Only RSA keys are accepted, not ${key.asymmetricKeyType}.`);
  }
  const bits = rsaModulusBits(key);
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new PkiError(
      'key_invalid',
      `RSA keys must have ${MIN_RSA_BITS}-${MAX_RSA_BITS} bits, this one has ${bits}.`,
    );
  }
}

/** Same public key? Compared on canonical SPKI DER so PEM formatting cannot matter. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  const spki = (k: KeyObject): Buffer =>
    (k.type === 'public' ? k : createPublicKey(k)).export({ type: 'spki', format: 'der' });
  return spki(a).equals(spki(b));
}
