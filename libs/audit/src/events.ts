/**
 * The audit event catalogue: every event a Causeway component records, with its category and
 * severity. Records carry identifiers and machine-readable reasons, never a secret, a code that
 * was typed, a token or a password.
 */
export type AuditSeverity = 'info' | 'notice' | 'warning' | 'critical';
export type AuditCategory =
  'authentication' | 'access' | 'configuration' | 'administration' | 'data';

export interface AuditEventSpec {
  category: AuditCategory;
  severity: AuditSeverity;
  description: string;
}

export const AUDIT_EVENTS = {
  'auth.sign_in.succeeded': {
    category: 'authentication',
    severity: 'info',
    description: 'A user signed in (method and connector in the details).',
  },
  'auth.sign_in.failed': {
    category: 'authentication',
    severity: 'warning',
    description: 'A sign-in was refused; the reason says why.',
  },
  'auth.second_factor.succeeded': {
    category: 'authentication',
    severity: 'info',
    description: 'A user confirmed a sign-in with an authenticator code or a recovery code.',
  },
  'auth.second_factor.failed': {
    category: 'authentication',
    severity: 'warning',
    description: 'A second-factor code was refused; the reason says why.',
  },
  'auth.second_factor.enrolled': {
    category: 'authentication',
    severity: 'notice',
    description: 'A user set up an authenticator app and received new recovery codes.',
  },
  'auth.second_factor.removed': {
    category: 'authentication',
    severity: 'warning',
    description: "A user's authenticator app and recovery codes were removed.",
  },
  'auth.email_code.sent': {
    category: 'authentication',
    severity: 'info',
    description: 'A one-time sign-in code was emailed.',
  },
  'auth.email_code.refused': {
    category: 'authentication',
    severity: 'warning',
    description: 'A sign-in code was not sent (rate limit, method off, mail relay down).',
  },
  'auth.password.set': {
    category: 'authentication',
    severity: 'notice',
    description: 'A local password was set or changed.',
  },
  'auth.locked_out': {
    category: 'authentication',
    severity: 'warning',
    description: 'Too many failures: further attempts are refused for a while.',
  },
  'auth.signed_out': {
    category: 'authentication',
    severity: 'info',
    description: 'A user signed out.',
  },
  'auth.session.revoked': {
    category: 'authentication',
    severity: 'notice',
    description: 'Sessions were ended by their user or by an administrator.',
  },
  'access.address_refused': {
    category: 'access',
    severity: 'warning',
    description: "A request or sign-in came from outside the tenant's IP allow-list.",
  },
  'config.identity_provider.added': {
    category: 'configuration',
    severity: 'notice',
    description: 'A sign-in connector (OIDC or SAML) was added.',
  },
  'config.identity_provider.removed': {
    category: 'configuration',
    severity: 'notice',
    description: 'A sign-in connector was removed.',
  },
  'config.sign_in_policy.changed': {
    category: 'configuration',
    severity: 'notice',
    description: "The tenant's sign-in policy changed.",
  },
  'config.allow_list.changed': {
    category: 'configuration',
    severity: 'notice',
    description: "The tenant's IP allow-list changed.",
  },
  'config.role.created': {
    category: 'configuration',
    severity: 'notice',
    description: 'A custom role was created from a template.',
  },
  'config.role.deleted': {
    category: 'configuration',
    severity: 'notice',
    description: 'A custom role was deleted, with its assignments.',
  },
  'access.role.assigned': {
    category: 'access',
    severity: 'notice',
    description: 'A role was assigned to a user or group on the tenant, a workspace or a folder.',
  },
  'access.role.removed': {
    category: 'access',
    severity: 'notice',
    description: 'A role assignment was removed.',
  },
  'access.role.refused': {
    category: 'access',
    severity: 'warning',
    description:
      'A role change was refused (create, delete, assign, remove; details.action): the caller lacks a permission the role grants.',
  },
  'admin.tenant.created': {
    category: 'administration',
    severity: 'notice',
    description: 'A tenant was created.',
  },
  'admin.tenant.delete_requested': {
    category: 'administration',
    severity: 'critical',
    description:
      "Deleting a tenant was asked for: its sessions ended and every workspace's deletion was sent to its node.",
  },
  'admin.tenant.deleted': {
    category: 'administration',
    severity: 'critical',
    description:
      "A tenant's deletion finished: every workspace's keys are destroyed and its nodes are revoked.",
  },
  'config.tenant.changed': {
    category: 'configuration',
    severity: 'notice',
    description: "The tenant's settings changed (region, retention, key-rotation period).",
  },
  'admin.user.created': {
    category: 'administration',
    severity: 'info',
    description: 'A user or partner account was created.',
  },
  'admin.user.disabled': {
    category: 'administration',
    severity: 'notice',
    description: 'A user was disabled (and signed out everywhere).',
  },
  'admin.user.enabled': {
    category: 'administration',
    severity: 'notice',
    description: 'A disabled user was enabled again.',
  },
  'access.invitation.created': {
    category: 'access',
    severity: 'notice',
    description: 'A partner was invited to a workspace with a role.',
  },
  'access.invitation.revoked': {
    category: 'access',
    severity: 'notice',
    description: "An invitation was revoked: the partner's access to the workspace ended.",
  },
  'access.invitation.accepted': {
    category: 'access',
    severity: 'info',
    description: 'An invited partner signed in for the first time.',
  },
  'admin.workspace.created': {
    category: 'administration',
    severity: 'info',
    description: "A workspace was created on one of the tenant's nodes.",
  },
  'admin.workspace.delete_requested': {
    category: 'administration',
    severity: 'notice',
    description: 'Deleting a workspace was asked for; the node destroys its keys and files.',
  },
  'admin.workspace.deleted': {
    category: 'administration',
    severity: 'notice',
    description: "The node confirmed a workspace's deletion: its keys are destroyed.",
  },
  'admin.workspace.quota_changed': {
    category: 'administration',
    severity: 'info',
    description: "A workspace's storage quota was set or removed (on its node first).",
  },
  'admin.workspace.key_rotation_requested': {
    category: 'administration',
    severity: 'notice',
    description:
      "Rotating a workspace's master key was asked for; the node re-wraps its data keys in a job (id in the details).",
  },
  'data.file.uploaded': {
    category: 'data',
    severity: 'info',
    description: 'A file (or a new version of it) was uploaded to a workspace.',
  },
  'data.upload.cancelled': {
    category: 'data',
    severity: 'info',
    description:
      'An unfinished upload was cancelled (tus termination): the node dropped the parts it held.',
  },
  'data.file.downloaded': {
    category: 'data',
    severity: 'info',
    description:
      'A file, or a byte range of it, is being sent to a user (recorded before the first byte; a download cut short is also recorded as download_failed).',
  },
  'data.file.download_failed': {
    category: 'data',
    severity: 'warning',
    description:
      'A download stopped before its last byte: the client went away, or the node refused stored bytes that failed their integrity check.',
  },
  'data.file.renamed': {
    category: 'data',
    severity: 'info',
    description: 'A file was renamed.',
  },
  'data.file.moved': {
    category: 'data',
    severity: 'info',
    description: 'A file was moved to another folder.',
  },
  'data.file.deleted': {
    category: 'data',
    severity: 'notice',
    description: 'A file and all its versions were deleted (their data keys destroyed).',
  },
} as const satisfies Record<string, AuditEventSpec>;

export type AuditEventType = keyof typeof AUDIT_EVENTS;

export const AUDIT_EVENT_TYPES = Object.keys(AUDIT_EVENTS) as AuditEventType[];

export function isAuditEventType(value: unknown): value is AuditEventType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(AUDIT_EVENTS, value);
}
