import { z } from 'zod';

export const nodeIdParamSchema = z.uuid({ error: 'a node id is a UUID' });

export const pingBodySchema = z.strictObject({ echo: z.string().max(1024).optional() });

export const listNodesQuerySchema = z.strictObject({
  tenant: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,62}$/)
    .optional(),
});

export const nodeViewSchema = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  name: z.string(),
  region: z.string(),
  status: z.enum(['online', 'offline', 'revoked']),
  state: z.enum(['registered', 'up', 'stopping']),
  version: z.string().nullable(),
  hostname: z.string().nullable(),
  startedAt: z.iso.datetime().nullable(),
  lastHeartbeatAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  /** The node's current certificate; nodes renew it on their own before it expires. */
  certificate: z
    .object({
      serial: z.string(),
      notAfter: z.iso.datetime(),
      renewedAt: z.iso.datetime().nullable(),
    })
    .nullable(),
  createdAt: z.iso.datetime(),
});
export type NodeView = z.infer<typeof nodeViewSchema>;

export const nodeListSchema = z.object({ items: z.array(nodeViewSchema) });
