import { z } from 'zod';

export const fileIdSchema = z.uuid({ error: 'a file id is a UUID' });
export const workspaceIdSchema = z.uuid({ error: 'a workspace id is a UUID' });

export const fileQuerySchema = z.object({
  folder: z.string().optional(),
  version: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, { error: 'a version is a positive integer' })
    .transform(Number)
    .optional(),
});

/** A rename, a move, or both. */
export const updateFileSchema = z
  .strictObject({
    name: z.string().min(1).max(255).optional(),
    folder: z.string().min(1).max(1024).startsWith('/').optional(),
  })
  .refine((b) => b.name !== undefined || b.folder !== undefined, {
    error: 'give a new name, a new folder, or both',
  });
