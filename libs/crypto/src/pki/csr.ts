import { constants, verify as verifySignature } from 'node:crypto';
import forge from 'node-forge';
import { bitStringBytes, decodeSinglePem, forgeToDer, splitDerSequence } from './der';
import { PkiError } from './errors';
import { loadRsaPrivateKey, loadRsaPublicKey, rsaModulusBits, samePublicKey } from './keys';
import { requireId } from './ca';

export interface CreateCsrOptions {
  privateKeyPem: string;
  /** Optional: when given it must match the private key (catches mixed-up key files early). */
  publicKeyPem?: string;
  /** The node id; the CA refuses the CSR unless it equals the id the join token was made for. */
  commonName: string;
  /** Optional: the tenant id the node expects to join; the CA refuses a token of another tenant. */
  organization?: string;
}

/**
 * Builds a PKCS#10 CSR signed with SHA-256. The subject is only `CN=<node id>`, and there are no
 * attributes: no challengePassword (the join token travels beside the CSR, never inside it, so it
 * is not kept in CSR archives or logs) and no extension request (the CA would ignore it anyway).
 */
export function createCsr(options: CreateCsrOptions): string {
  const commonName = requireId(options.commonName, 'commonName');
  const { key, pkcs8Pem } = loadRsaPrivateKey(options.privateKeyPem);
  if (
    options.publicKeyPem !== undefined &&
    !samePublicKey(key, loadRsaPublicKey(options.publicKeyPem))
  ) {
    throw new PkiError('key_invalid', 'The public key does not belong to the private key.');
  }
  const privateKey = forge.pki.privateKeyFromPem(pkcs8Pem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  csr.setSubject([
    { shortName: 'CN', value: commonName },
    ...(options.organization === undefined
      ? []
      : [{ shortName: 'O', value: requireId(options.organization, 'organization') }]),
  ]);
  csr.sign(privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

/** What the CA may rely on after `inspectCsr`: the proven key and the name it was signed with. */
export interface CsrInfo {
  commonName: string;
  /** The tenant id the node asked to join, when it named one; the CA compares it to the token's. */
  organization?: string;
  /** The CSR's public key as SPKI PEM: the key the node proved it holds. */
  publicKeyPem: string;
  keyBits: number;
}

/** The one signature algorithm we accept on CSRs: RSASSA-PKCS1-v1_5 with SHA-256. */
const SHA256_WITH_RSA = forge.pki.oids.sha256WithRSAEncryption;

/**
 * Parses a CSR and proves possession of its key. Everything not proven is refused with
 * `invalid_csr`: several PEM blocks, trailing bytes, non-DER encodings, a signature over other
 * bytes than those parsed, a non-SHA-256 signature, a non-RSA or weak key, a subject that is not
 * exactly one CN. The signature is checked by OpenSSL over the received bytes; node-forge only
 * parses, and we require its re-encoding to equal those bytes.
 */
export function inspectCsr(csrPem: string): CsrInfo {
  if (typeof csrPem !== 'string' || csrPem.length > 64 * 1024) {
    throw invalid('The CSR must be a PEM string of at most 64 KiB.');
  }
  const der = decodeSinglePem(csrPem, 'CERTIFICATE REQUEST');
  if (!der) throw invalid('Expected exactly one PEM block of type CERTIFICATE REQUEST.');
  const parts = splitDerSequence(der);
  if (!parts || parts.length !== 3) throw invalid('The CSR is not a DER CertificationRequest.');
  const [info, , signatureTlv] = parts;

  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(der.toString('binary'), true));
  } catch (cause) {
    // Also where non-RSA keys end: node-forge cannot read them.
    throw invalid('The CSR cannot be parsed (or its key is not RSA).', cause);
  }
  if (!csr.certificationRequestInfo || !forgeToDer(csr.certificationRequestInfo).equals(info)) {
    throw invalid('The CSR is not in canonical DER.');
  }
  if (csr.version !== 0) throw invalid('Only version 1 CSRs are accepted.');
  if (csr.signatureOid !== SHA256_WITH_RSA || csr.siginfo.algorithmOid !== SHA256_WITH_RSA) {
    throw invalid('The CSR must be signed with sha256WithRSAEncryption.');
  }
  if (!csr.publicKey) throw invalid('The CSR carries no public key.');

  const publicKeyPem = forge.pki.publicKeyToPem(csr.publicKey);
  let key;
  try {
    key = loadRsaPublicKey(publicKeyPem);
  } catch (cause) {
    throw invalid('The CSR key is too weak or unusable.', cause);
  }
  const exponent = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  // NIST SP 800-56B: e odd and above 2^16. Tiny exponents invite well-known attacks.
  if (exponent <= 65536n || exponent % 2n === 0n) throw invalid('The CSR key has a weak exponent.');

  const signature = bitStringBytes(signatureTlv);
  let valid = false;
  if (signature) {
    try {
      valid = verifySignature(
        'sha256',
        info,
        { key, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
    } catch {
      valid = false;
    }
  }
  if (!valid) throw invalid('The CSR signature does not verify with its own key.');

  return { ...readSubject(csr), publicKeyPem, keyBits: rsaModulusBits(key) };
}

/**
 * The subject is one CN (the node id), optionally followed by one O (the tenant id the node
 * expects to join); nothing else, so the CA is never asked to certify names it does not check.
 */
function readSubject(csr: forge.pki.CertificateSigningRequest): {
  commonName: string;
  organization?: string;
} {
  const attributes = csr.subject.attributes;
  const [cn, o, ...rest] = attributes;
  const text = (a: (typeof attributes)[number] | undefined, oid: string): string | undefined => {
    const value: unknown = a?.value;
    return a && a.type === oid && typeof value === 'string' && value !== '' ? value : undefined;
  };
  const commonName = text(cn, forge.pki.oids.commonName);
  const organization = o === undefined ? undefined : text(o, forge.pki.oids.organizationName);
  if (!commonName || rest.length > 0 || (o !== undefined && !organization)) {
    throw invalid(
      'The CSR subject must be one common name (the node id), optionally with one organization (the tenant id).',
    );
  }
  return organization === undefined ? { commonName } : { commonName, organization };
}

function invalid(message: string, cause?: unknown): PkiError {
  return new PkiError('invalid_csr', message, cause === undefined ? undefined : { cause });
}
