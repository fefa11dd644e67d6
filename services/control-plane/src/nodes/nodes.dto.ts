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
  createdAt: z.iso.datetime(),
});
export type NodeView = z.infer<typeof nodeViewSchema>;

export const nodeListSchema = z.object({ items: z.array(nodeViewSchema) });

export const registerNodeSchema = z.strictObject({
  tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use 1-63 letters, digits, . _ or -'),
});
export type RegisterNode = z.infer<typeof registerNodeSchema>;
