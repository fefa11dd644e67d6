import { z } from 'zod';
import type { IssuedCertificate } from '@causeway/contracts';

export const createJoinTokenSchema = z.strictObject({
  /** Defaults to the tenant's region; a node may only enrol into its tenant's region. */
  region: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,31}$/)
    .optional(),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
});

export const enrolSchema = z.strictObject({
  token: z.string().min(20).max(200),
  /** PEM PKCS#10 request; its CN is the node id the node chose (a UUID). */
  csr: z.string().min(100).max(20_000),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use 1-63 letters, digits, . _ or -'),
  /** The node's Ed25519 key (SPKI PEM) that will sign its replies and heartbeats. */
  signingKey: z.string().min(50).max(2000),
});
export type Enrol = z.infer<typeof enrolSchema>;

export interface JoinTokenView {
  id: string;
  tenantId: string;
  region: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  usedByNode: string | null;
  revokedAt: string | null;
  state: 'active' | 'used' | 'expired' | 'revoked';
}

export interface EnrolmentResult extends IssuedCertificate {
  nodeId: string;
  tenantId: string;
  region: string;
  broker: { username: string; password: string; amqpUrl: string };
  bridgeNamespace: string;
}
