import forge from 'node-forge';
import { randomSerialHex } from './der';
import { PkiError } from './errors';
import {
  KeyPairPem,
  generateKeyPair,
  loadRsaPrivateKey,
  loadRsaPublicKey,
  samePublicKey,
} from './keys';

/** Backdating of notBefore, so a peer whose clock runs a little behind accepts a fresh certificate. */
export const CLOCK_SKEW_SECONDS = 60;
/** Upper bound on a CA's life: it is a root we rotate by re-enrolment, not a forever anchor. */
export const MAX_CA_VALIDITY_DAYS = 3650;

export interface CreateCertificateAuthorityOptions {
  /** Subject CN of the CA, e.g. `Causeway control plane CA (prod-eu)`. */
  commonName: string;
  validityDays: number;
  /** Injected clock: the certificate's validity is computed from it. */
  now: Date;
  /** Reuse an existing key pair (re-issuing the CA certificate, tests); generated otherwise. */
  keyPair?: KeyPairPem;
}

/** The CA's certificate (publish it) and private key (seal it with `sealPrivateKey`). */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

/**
 * Creates a self-signed root for node certificates. pathLenConstraint 0: this CA signs leaves
 * only, so a stolen node key can never mint further certificates even if it were marked as a CA.
 */
export async function createCertificateAuthority(
  options: CreateCertificateAuthorityOptions,
): Promise<CertificateAuthority> {
  const commonName = requireName(options.commonName, 'commonName');
  const days = options.validityDays;
  if (!Number.isInteger(days) || days < 1 || days > MAX_CA_VALIDITY_DAYS) {
    throw new PkiError(
      'invalid_argument',
      `validityDays must be an integer from 1 to ${MAX_CA_VALIDITY_DAYS}.`,
    );
  }
  const now = requireDate(options.now);
  const keyPair = options.keyPair ?? (await generateKeyPair());
  const { key, pkcs8Pem } = loadRsaPrivateKey(keyPair.privateKeyPem);
  if (!samePublicKey(key, loadRsaPublicKey(keyPair.publicKeyPem))) {
    throw new PkiError('key_invalid', 'The public key does not belong to the private key.');
  }

  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialHex();
  cert.publicKey = forge.pki.publicKeyFromPem(keyPair.publicKeyPem);
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000);
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  const subject = [{ shortName: 'CN', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(pkcs8Pem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: pkcs8Pem };
}

/**
 * Identifiers end up in a certificate subject and a URN: keep them to a conservative charset so
 * no DN or URI syntax (`,`, `=`, `/`, spaces, control characters) can be injected.
 */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function requireId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new PkiError(
      'invalid_argument',
      `${field} must be 1-128 characters of letters, digits, '.', '_' or '-'.`,
    );
  }
  return value;
}

function requireName(value: unknown, field: string): string {
  // A free-form display name, but printable and bounded (RFC 5280 ub-common-name is 64).
  if (typeof value !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(value) || value.trim() !== value) {
    throw new PkiError('invalid_argument', `${field} must be 1-64 printable ASCII characters.`);
  }
  return value;
}

export function requireDate(value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new PkiError('invalid_argument', 'now must be a valid Date.');
  }
  return value;
}
