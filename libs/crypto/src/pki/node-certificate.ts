import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { CLOCK_SKEW_SECONDS, requireDate, requireId } from './ca';
import { inspectCsr } from './csr';
import { decodeSinglePem, forgeToDer, randomSerialHex, splitDerSequence } from './der';
import { PkiError } from './errors';
import { loadRsaPrivateKey, samePublicKey } from './keys';

/** Node certificates are short-lived: rotation replaces revocation lists for the common case. */
export const MAX_NODE_CERT_VALIDITY_SECONDS = 30 * 24 * 3600;
export const MIN_NODE_CERT_VALIDITY_SECONDS = 5 * 60;

/** URI SANs naming the node and its tenant; the subject carries the same ids for humans. */
export const NODE_URN_PREFIX = 'urn:causeway:node:';
export const TENANT_URN_PREFIX = 'urn:causeway:tenant:';

const SHA256_WITH_RSA = forge.pki.oids.sha256WithRSAEncryption;

export interface SignNodeCertificateOptions {
  /** The CA, its key already unsealed (see `unsealPrivateKey`). */
  ca: { certPem: string; keyPem: string };
  csrPem: string;
  /** The node id the join token was issued for; the CSR's CN must equal it. */
  nodeId: string;
  tenantId: string;
  validitySeconds: number;
  /** Injected clock. */
  now: Date;
}

export interface IssuedNodeCertificate {
  certPem: string;
  /** Issuer chain, leaf's issuer first; today just the root. */
  chainPem: string[];
  /** Lowercase hex, as `verifyNodeCertificate` reports it: store it for audit and revocation. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issues a node's client certificate. The public key comes from the CSR (after its proof of
 * possession is checked) and everything else from the arguments: the CA copies nothing the
 * node asked for besides its key, so a CSR cannot request CA rights, other names or usages.
 */
export function signNodeCertificate(options: SignNodeCertificateOptions): IssuedNodeCertificate {
  const nodeId = requireId(options.nodeId, 'nodeId');
  const tenantId = requireId(options.tenantId, 'tenantId');
  const seconds = options.validitySeconds;
  if (
    !Number.isInteger(seconds) ||
    seconds < MIN_NODE_CERT_VALIDITY_SECONDS ||
    seconds > MAX_NODE_CERT_VALIDITY_SECONDS
  ) {
    throw new PkiError(
      'invalid_argument',
      `validitySeconds must be an integer from ${MIN_NODE_CERT_VALIDITY_SECONDS} to ${MAX_NODE_CERT_VALIDITY_SECONDS}.`,
    );
  }
  const now = requireDate(options.now);
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000);
  const notAfter = new Date(now.getTime() + seconds * 1000);

  const ca = loadCa(options.ca.certPem);
  if (now < ca.forge.validity.notBefore || notAfter > ca.forge.validity.notAfter) {
    // Never issue a leaf that would outlive (or predate) its issuer: it would fail later, confusingly.
    throw new PkiError('ca_invalid', 'The CA certificate does not cover the requested validity.');
  }
  const { key: caKey, pkcs8Pem: caKeyPem } = loadCaKey(options.ca.keyPem);
  if (!samePublicKey(caKey, ca.x509.publicKey)) {
    throw new PkiError('ca_invalid', 'The CA key does not belong to the CA certificate.');
  }

  const csr = inspectCsr(options.csrPem);
  if (csr.commonName !== nodeId) {
    throw new PkiError(
      'csr_subject_mismatch',
      'The CSR names another node than the one enrolling.',
    );
  }

  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialHex();
  cert.publicKey = forge.pki.publicKeyFromPem(csr.publicKeyPem);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([
    { shortName: 'CN', value: nodeId },
    { shortName: 'O', value: tenantId },
  ]);
  cert.setIssuer(ca.forge.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 6, value: `${NODE_URN_PREFIX}${nodeId}` },
        { type: 6, value: `${TENANT_URN_PREFIX}${tenantId}` },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    // Explicit bytes: node-forge's `keyIdentifier: true` would use the leaf's own key id.
    { name: 'authorityKeyIdentifier', keyIdentifier: caKeyIdentifier(ca.forge) },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    chainPem: [forge.pki.certificateToPem(ca.forge)],
    serial: cert.serialNumber.toLowerCase(),
    notBefore,
    notAfter,
  };
}

export interface VerifyNodeCertificateOptions {
  certPem: string;
  /** The trusted CA, configured or pinned at enrolment; never taken from the peer. */
  caCertPem: string;
  /** Injected clock. */
  now: Date;
}

export interface VerifiedNodeCertificate {
  nodeId: string;
  tenantId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Checks a node certificate against the trusted CA at `now`, in this order so the most useful
 * code wins: parseable and canonical (`certificate_invalid`), issued and signed by this CA, which
 * is itself a valid CA at `now` (`certificate_untrusted`), a SHA-256 leaf for client auth that
 * names one node and one tenant (`certificate_invalid`), then the validity window
 * (`certificate_not_yet_valid`, `certificate_expired`). No extra skew is granted here: issuance
 * already backdates notBefore. Revocation (a serial deny-list) is the caller's job.
 */
export function verifyNodeCertificate(
  options: VerifyNodeCertificateOptions,
): VerifiedNodeCertificate {
  const now = requireDate(options.now);
  const ca = loadCa(options.caCertPem);
  const leaf = parseCertificate(options.certPem, 'certificate_invalid');

  let signedByCa = false;
  try {
    signedByCa = leaf.x509.checkIssued(ca.x509) && leaf.x509.verify(ca.x509.publicKey);
  } catch {
    signedByCa = false;
  }
  if (!signedByCa) {
    throw new PkiError(
      'certificate_untrusted',
      'The certificate was not issued by the trusted CA.',
    );
  }
  if (now < ca.forge.validity.notBefore || now > ca.forge.validity.notAfter) {
    throw new PkiError('certificate_untrusted', 'The trusted CA certificate is not valid now.');
  }

  const cert = leaf.forge;
  if (cert.signatureOid !== SHA256_WITH_RSA || cert.siginfo.algorithmOid !== SHA256_WITH_RSA) {
    throw new PkiError(
      'certificate_invalid',
      'The certificate is not signed with SHA-256 and RSA.',
    );
  }
  assertLeafProfile(cert);
  const nodeId = soleUri(cert, NODE_URN_PREFIX);
  const tenantId = soleUri(cert, TENANT_URN_PREFIX);
  if (subjectValue(cert, 'CN') !== nodeId || subjectValue(cert, 'O') !== tenantId) {
    throw new PkiError('certificate_invalid', 'The certificate subject and names disagree.');
  }

  if (now < cert.validity.notBefore) {
    throw new PkiError('certificate_not_yet_valid', 'The certificate is not valid yet.');
  }
  if (now > cert.validity.notAfter) {
    throw new PkiError('certificate_expired', 'The certificate has expired.');
  }
  return {
    nodeId,
    tenantId,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
  };
}

interface ParsedCertificate {
  forge: forge.pki.Certificate;
  x509: X509Certificate;
}

/**
 * Parses one certificate with both libraries: OpenSSL verifies signatures, node-forge reads the
 * fields. Requiring node-forge's re-encoding of the signed part to equal the received bytes
 * means both read the same, signed, content.
 */
function parseCertificate(
  pem: string,
  code: 'certificate_invalid' | 'ca_invalid',
): ParsedCertificate {
  const fail = (message: string, cause?: unknown): PkiError =>
    new PkiError(code, message, cause === undefined ? undefined : { cause });
  if (typeof pem !== 'string' || pem.length > 64 * 1024) {
    throw fail('The certificate must be a PEM string of at most 64 KiB.');
  }
  const der = decodeSinglePem(pem, 'CERTIFICATE');
  if (!der) throw fail('Expected exactly one PEM block of type CERTIFICATE.');
  const parts = splitDerSequence(der);
  if (!parts || parts.length !== 3) throw fail('The certificate is not DER.');
  try {
    const parsed = forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary'), true));
    if (!forgeToDer(parsed.tbsCertificate).equals(parts[0])) {
      throw fail('The certificate is not in canonical DER.');
    }
    return { forge: parsed, x509: new X509Certificate(der) };
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw fail('The certificate cannot be parsed.', cause);
  }
}

function loadCa(certPem: string): ParsedCertificate {
  const ca = parseCertificate(certPem, 'ca_invalid');
  const constraints = extension(ca.forge, 'basicConstraints');
  const usage = extension(ca.forge, 'keyUsage');
  if (!ca.x509.ca || constraints?.cA !== true || usage?.keyCertSign !== true) {
    throw new PkiError('ca_invalid', 'The CA certificate is not a certificate authority.');
  }
  return ca;
}

function loadCaKey(keyPem: string): ReturnType<typeof loadRsaPrivateKey> {
  try {
    return loadRsaPrivateKey(keyPem);
  } catch (cause) {
    throw new PkiError('ca_invalid', 'The CA key cannot be used.', { cause });
  }
}

/** The CA's subjectKeyIdentifier bytes (binary string, as node-forge wants them). */
function caKeyIdentifier(ca: forge.pki.Certificate): string {
  const hex = extension(ca, 'subjectKeyIdentifier')?.subjectKeyIdentifier;
  return typeof hex === 'string'
    ? forge.util.hexToBytes(hex)
    : ca.generateSubjectKeyIdentifier().getBytes();
}

/** Critical extensions we understand; RFC 5280 requires refusing any other critical one. */
const KNOWN_CRITICAL = new Set(['basicConstraints', 'keyUsage', 'extKeyUsage', 'subjectAltName']);

function assertLeafProfile(cert: forge.pki.Certificate): void {
  const invalid = (message: string): PkiError => new PkiError('certificate_invalid', message);
  for (const raw of cert.extensions as unknown[]) {
    const ext = asRecord(raw);
    if (ext?.critical === true && !(typeof ext.name === 'string' && KNOWN_CRITICAL.has(ext.name))) {
      throw invalid('The certificate has an unknown critical extension.');
    }
  }
  if (extension(cert, 'basicConstraints')?.cA === true) {
    throw invalid('A node certificate must not be a CA.');
  }
  if (extension(cert, 'keyUsage')?.digitalSignature !== true) {
    throw invalid('The certificate lacks the digitalSignature key usage.');
  }
  if (extension(cert, 'extKeyUsage')?.clientAuth !== true) {
    throw invalid('The certificate is not for client authentication.');
  }
}

function soleUri(cert: forge.pki.Certificate, prefix: string): string {
  const altNames = extension(cert, 'subjectAltName')?.altNames;
  const values = (Array.isArray(altNames) ? (altNames as unknown[]) : [])
    .map(asRecord)
    .filter((n) => n?.type === 6 && typeof n.value === 'string' && n.value.startsWith(prefix))
    .map((n) => String(n?.value).slice(prefix.length));
  if (values.length !== 1) {
    throw new PkiError(
      'certificate_invalid',
      `The certificate must name exactly one ${prefix}* URI.`,
    );
  }
  return requireIdOr(values[0]);
}

function requireIdOr(value: string): string {
  try {
    return requireId(value, 'id');
  } catch {
    throw new PkiError('certificate_invalid', 'The certificate names a malformed id.');
  }
}

function subjectValue(cert: forge.pki.Certificate, shortName: string): unknown {
  const matches = cert.subject.attributes.filter((a) => a.shortName === shortName);
  return matches.length === 1 ? matches[0].value : undefined;
}

function extension(cert: forge.pki.Certificate, name: string): Record<string, unknown> | undefined {
  return asRecord(cert.getExtension(name));
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}
