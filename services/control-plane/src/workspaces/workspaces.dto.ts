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
  state: z.enum(['provisioning', 'ready', 'failed', 'deleting']),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** Storage quota in bytes; null when the workspace has none. */
  quotaBytes: z.number().int().nonnegative().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type WorkspaceView = z.infer<typeof workspaceViewSchema>;
/** A change of a workspace's settings; `quotaBytes: null` removes the quota. */
export const updateWorkspaceSchema = z.strictObject({
  quotaBytes: z
    .number({ error: 'quotaBytes is a whole number of bytes, or null for no quota' })
    .int()
    .nonnegative()
    .max(Number.MAX_SAFE_INTEGER)
    .nullable(),
});
export type UpdateWorkspace = z.infer<typeof updateWorkspaceSchema>;

/** A workspace after a settings change, with the bytes its node reports in use. */
export const workspaceWithUsageSchema = workspaceViewSchema.extend({
  usedBytes: z.number().int().nonnegative(),
});
export type WorkspaceWithUsage = z.infer<typeof workspaceWithUsageSchema>;

export const workspaceListSchema = z.object({ items: z.array(workspaceViewSchema) });

/** One role that reaches a workspace, and who holds it (a user, or an SSO group). */
export const workspaceMemberSchema = z.object({
  principal: z.string(),
  user: z
    .object({
      id: z.uuid(),
      email: z.string(),
      displayName: z.string().nullable(),
      kind: z.enum(['member', 'partner']),
    })
    .nullable(),
  /** For a role held by an SSO group. */
  group: z.string().nullable(),
  role: z.string(),
  /** `tenant`: the role covers every workspace of the tenant. */
  scope: z.enum(['tenant', 'workspace', 'folder']),
  folder: z.string().nullable(),
  /** `assignment` (a role assignment) or `sso-mapping` (given by the identity provider). */
  via: z.enum(['assignment', 'sso-mapping']),
});
export type WorkspaceMember = z.infer<typeof workspaceMemberSchema>;
export const workspaceMemberListSchema = z.object({ items: z.array(workspaceMemberSchema) });
