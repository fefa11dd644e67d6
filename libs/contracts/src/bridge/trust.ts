import { z } from 'zod';
import { nodeIdSchema } from './envelope';

/**
 * Trust on the bridge, version 1 (see docs/design/delegation.md).
 *
 * Every request to a node carries a delegation token in the `x-causeway-delegation` header: a
 * JWT signed by the control plane (EdDSA, Ed25519) that names who the request acts for and binds
 * itself to the exact message (id, method and SHA-256 of the body bytes). Every reply carries an
 * Ed25519 signature of its body bytes by the node in `x-causeway-signature`. A broker that can
 * read and write every queue can therefore neither forge nor alter a request or an answer.
 */
export const HEADER_DELEGATION = 'x-causeway-delegation';
export const HEADER_SIGNATURE = 'x-causeway-signature';
export const HEADER_SIGNING_KEY_ID = 'x-causeway-key-id';

export const DELEGATION_TYP = 'causeway-delegation+jwt';
export const DELEGATION_ALG = 'EdDSA';
/** Tokens live seconds; this is the ceiling whatever the configuration says. */
export const MAX_DELEGATION_TTL_SECONDS = 300;
/** Clock difference between control plane and node that verification tolerates. */
export const DELEGATION_CLOCK_TOLERANCE_SECONDS = 5;

/** The issuer claim: one per bridge namespace, so tokens of one installation mean nothing to another. */
export function delegationIssuer(namespace: string): string {
  return `urn:causeway:control-plane:${namespace}`;
}

const keyIdSchema = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

/** Claims of a delegation token, all required unless marked optional. */
export const delegationClaimsSchema = z.object({
  iss: z.string().min(1).max(200),
  /** The node the request is for. */
  aud: nodeIdSchema,
  /** Who the request acts for: a user id, or `operator:…` / `system:…` for the platform itself. */
  sub: z.string().min(1).max(256),
  /** Tenant of the subject; the node serves only its own tenant. */
  tid: z.uuid(),
  /** Workspace the request is scoped to, when it is. */
  ws: z.uuid().optional(),
  /** Permissions the subject holds for this request, from the control plane's catalogue. */
  perm: z.array(z.string().min(1).max(64)).max(64),
  jti: z.uuid(),
  iat: z.number().int(),
  exp: z.number().int(),
  /** Envelope id, method and body digest of the one message this token may accompany. */
  mid: z.uuid(),
  mth: z.string().min(1).max(64),
  dig: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
export type DelegationClaims = z.infer<typeof delegationClaimsSchema>;

/** Who a request acts for, as the control plane states it when minting a token. */
export interface Principal {
  subject: string;
  tenantId: string;
  workspaceId?: string;
  permissions: readonly string[];
}

export const signingKeyStatusSchema = z.enum(['next', 'active', 'retired']);
export type SigningKeyStatus = z.infer<typeof signingKeyStatusSchema>;

/**
 * The control plane's signing keys as nodes pin them. `next` is announced before it signs
 * anything and `retired` still verifies tokens issued just before a rotation, so a rotation
 * never fails a request in flight.
 */
export const signingKeySetSchema = z.strictObject({
  v: z.literal(1),
  issuer: z.string().min(1).max(200),
  /** Grows with every change; a node never goes back to an older set. */
  version: z.number().int().positive(),
  issuedAt: z.iso.datetime(),
  keys: z
    .array(
      z.strictObject({
        kid: keyIdSchema,
        status: signingKeyStatusSchema,
        /** Ed25519 public key as a JWK (RFC 8037). */
        jwk: z.strictObject({
          kty: z.literal('OKP'),
          crv: z.literal('Ed25519'),
          x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
        }),
      }),
    )
    .min(1)
    .max(16),
});
export type SigningKeySet = z.infer<typeof signingKeySetSchema>;

/**
 * A key set as it travels: the exact JSON text and an RSA-PSS signature of it by the control
 * plane's CA, whose certificate the node pinned at enrolment. No other key can change a node's trust.
 */
export const signedKeySetSchema = z.strictObject({
  document: z
    .string()
    .min(2)
    .max(64 * 1024),
  /** base64 */
  signature: z.string().min(1).max(2048),
});
export type SignedKeySet = z.infer<typeof signedKeySetSchema>;

/** How long a renewal proof stays acceptable, either side of the control plane's clock. */
export const RENEWAL_PROOF_WINDOW_SECONDS = 300;

/**
 * The exact text a node signs (RSA-PSS, with its current certificate's key) to renew its
 * certificate: it binds the node, the moment, the new CSR and the new signing key together.
 */
export function renewalProofMessage(input: {
  nodeId: string;
  at: string;
  csr: string;
  signingKey: string;
}): string {
  return ['causeway-renew:v1', input.nodeId, input.at, input.csr, input.signingKey].join('\n');
}

export const renewalRequestSchema = z.strictObject({
  /** PEM PKCS#10 request for the new key; CN = node id. */
  csr: z.string().min(100).max(20_000),
  /** The node's new Ed25519 signing key, SPKI PEM. */
  signingKey: z.string().min(50).max(2000),
  at: z.iso.datetime(),
  /** base64 RSA-PSS signature of renewalProofMessage by the current certificate's key. */
  proof: z.string().min(1).max(2048),
});
export type RenewalRequest = z.infer<typeof renewalRequestSchema>;

/** What the control plane answers to an enrolment and to a renewal, beside the broker access. */
export const issuedCertificateSchema = z.object({
  certificatePem: z.string(),
  caChainPem: z.string(),
  certificateNotAfter: z.iso.datetime(),
  trust: signedKeySetSchema,
});
export type IssuedCertificate = z.infer<typeof issuedCertificateSchema>;
