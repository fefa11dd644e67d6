import { KeyObject, X509Certificate, constants, sign, verify } from 'node:crypto';
import { PkiError } from './errors';
import { loadRsaPrivateKey, loadRsaPublicKey } from './keys';

/**
 * RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt: the padding is pinned on both sides
 * (salt length too; never "auto"), so a verifier cannot be steered to another scheme.
 */
const PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
} as const;

/** A detached signature over `bytes` (e.g. a bridge reply), with a node's or the CA's RSA key. */
export function signPayload(privateKeyPem: string, bytes: Uint8Array): Buffer {
  const { key } = loadRsaPrivateKey(privateKeyPem);
  return sign('sha256', bytes, { key, ...PSS });
}

/**
 * Checks a detached signature against a public key PEM or a certificate PEM. With a certificate,
 * only its key is used: check the certificate itself with `verifyNodeCertificate` first.
 * Returns false for any signature that does not verify; throws `key_invalid` for a bad key.
 */
export function verifyPayload(
  publicKeyOrCertPem: string,
  bytes: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = publicKeyFrom(publicKeyOrCertPem);
  try {
    return verify('sha256', bytes, { key, ...PSS }, signature);
  } catch {
    // OpenSSL throws on some malformed signatures (wrong length): that is just "not valid".
    return false;
  }
}

function publicKeyFrom(pem: string): KeyObject {
  if (typeof pem === 'string' && pem.includes('-----BEGIN CERTIFICATE-----')) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (cause) {
      throw new PkiError('key_invalid', 'The certificate cannot be read.', { cause });
    }
    return loadRsaPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  }
  return loadRsaPublicKey(pem);
}
