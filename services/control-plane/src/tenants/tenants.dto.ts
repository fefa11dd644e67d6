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
