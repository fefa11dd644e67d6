import { z } from 'zod';

export const tenantSlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'use 2-63 lowercase letters, digits or -');
export const regionSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'use 2-32 lowercase letters, digits or -');

export const createTenantSchema = z.strictObject({
  slug: tenantSlugSchema,
  name: z.string().trim().min(1).max(200),
  region: regionSchema,
});
export type CreateTenant = z.infer<typeof createTenantSchema>;

/** Days, for retention and key rotation: at least a day, at most ten years. */
const days = z.number().int().min(1).max(3650);

/** A tenant's settings as an admin changes them; at least one. */
export const updateTenantSettingsSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    region: regionSchema.optional(),
    retentionDays: days.optional(),
    keyRotationDays: days.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), {
    message: 'give at least one of name, region, retentionDays, keyRotationDays',
  });
export type UpdateTenantSettings = z.infer<typeof updateTenantSettingsSchema>;

export const tenantViewSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  region: z.string(),
  retentionDays: z.number().int(),
  keyRotationDays: z.number().int(),
  /** `deleting` while its nodes destroy its workspaces' keys, then `deleted`. */
  state: z.enum(['active', 'deleting', 'deleted']),
  createdAt: z.iso.datetime(),
});
export type TenantView = z.infer<typeof tenantViewSchema>;
export const tenantListSchema = z.object({ items: z.array(tenantViewSchema) });

/** What the platform operator sends to create a tenant, optionally with its first owner. */
export const createTenantWithOwnerSchema = z.strictObject({
  ...createTenantSchema.shape,
  owner: z
    .strictObject({
      email: z.email().max(254),
      displayName: z.string().trim().min(1).max(200).optional(),
    })
    .optional(),
});
export type CreateTenantWithOwner = z.infer<typeof createTenantWithOwnerSchema>;

export const createdTenantSchema = tenantViewSchema.extend({
  owner: z
    .object({
      id: z.uuid(),
      email: z.string(),
      displayName: z.string().nullable(),
      assignmentId: z.uuid(),
    })
    .nullable(),
});

/** Deleting a tenant is confirmed by repeating its identifier. */
export const deleteTenantSchema = z.strictObject({ confirm: z.string() });
