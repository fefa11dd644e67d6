import { z } from 'zod';

/** How long an invitation waits to be used: unused after this, it stops giving access. */
export const INVITATION_TTL_DAYS = 14;

export const createInvitationSchema = z.strictObject({
  email: z.email({ error: 'an email address' }).max(254),
  /** A built-in role or a custom one that may be assigned on a workspace, e.g. partner-editor. */
  role: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}$/, 'a role name is 1-63 lower-case letters, digits or -'),
});
export type CreateInvitation = z.infer<typeof createInvitationSchema>;

export const invitationIdSchema = z.uuid({ error: 'an invitation id is a UUID' });

export const createdInvitationSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.string(),
  workspaceId: z.uuid(),
  expiresAt: z.iso.datetime(),
  /** Where the invited person signs in (also in the email). */
  signInUrl: z.url(),
  /** Whether the invitation email went out (false when no mail relay is configured or it failed). */
  emailSent: z.boolean(),
});
export type CreatedInvitation = z.infer<typeof createdInvitationSchema>;

export const invitationStates = ['pending', 'accepted', 'revoked', 'expired'] as const;
export type InvitationState = (typeof invitationStates)[number];

export const invitationViewSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  userId: z.uuid(),
  role: z.string(),
  workspaceId: z.uuid(),
  workspaceName: z.string(),
  /** pending: not used yet; accepted: signed in before it expired; expired: never used in time. */
  state: z.enum(invitationStates),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  expiresAt: z.iso.datetime(),
  acceptedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type InvitationView = z.infer<typeof invitationViewSchema>;
export const invitationListSchema = z.object({ items: z.array(invitationViewSchema) });
