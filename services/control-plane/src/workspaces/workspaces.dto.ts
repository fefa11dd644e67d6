import { z } from 'zod';

export const createWorkspaceSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  /** The node that will host the workspace; it must belong to the tenant. */
  node: z.uuid({ error: "node is the id (a UUID) of one of the tenant's nodes" }),
});
export type CreateWorkspace = z.infer<typeof createWorkspaceSchema>;

export const workspaceViewSchema = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  nodeId: z.uuid(),
  name: z.string(),
  state: z.enum(['provisioning', 'ready', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type WorkspaceView = z.infer<typeof workspaceViewSchema>;
export const workspaceListSchema = z.object({ items: z.array(workspaceViewSchema) });
