/**
 * PKI building blocks for node enrolment: key pairs, the control plane's CA, CSRs, node
 * certificates, sealing the CA key at rest and detached payload signatures.
 * See docs/design/pki.md for the algorithms and what each step checks.
 */
export { PkiError, isPkiError } from './errors';
export type { PkiErrorCode } from './errors';
export { generateKeyPair, MIN_RSA_BITS, MAX_RSA_BITS, RSA_MODULUS_BITS } from './keys';
export type { KeyPairPem } from './keys';
export { createCertificateAuthority, CLOCK_SKEW_SECONDS, MAX_CA_VALIDITY_DAYS } from './ca';
export type { CertificateAuthority, CreateCertificateAuthorityOptions } from './ca';
export { createCsr, inspectCsr } from './csr';
export type { CreateCsrOptions, CsrInfo } from './csr';
export {
  signNodeCertificate,
  verifyNodeCertificate,
  MAX_NODE_CERT_VALIDITY_SECONDS,
  MIN_NODE_CERT_VALIDITY_SECONDS,
  NODE_URN_PREFIX,
  TENANT_URN_PREFIX,
} from './node-certificate';
export type {
  IssuedNodeCertificate,
  SignNodeCertificateOptions,
  VerifiedNodeCertificate,
  VerifyNodeCertificateOptions,
} from './node-certificate';
export { sealPrivateKey, sealSecret, unsealPrivateKey, unsealSecret } from './seal';
export type { SealedEnvelope, SealingSecret } from './seal';
export { signPayload, verifyPayload } from './signature';
