/**
 * The audit event catalogue: every event a Causeway component records, with its category and
 * severity. Records carry identifiers and machine-readable reasons, never a secret, a code that
 * was typed, a token or a password.
 */
import {
  alertChannel,
  alertFields,
  alertSignInBurstFields,
  count,
  fields,
  fileFields,
  flag,
  ident,
  int,
  networkList,
  nodeCaller,
  opt,
  routeFields,
  scalarFields,
  text,
  type AuditFieldsSchema,
} from './fields';

export type AuditSeverity = 'info' | 'notice' | 'warning' | 'critical';
export type AuditCategory =
  'authentication' | 'access' | 'configuration' | 'administration' | 'data' | 'alert';

/** Where an event is recorded: the control plane's trail, the node's own chain, or both. */
export type AuditSide = 'control-plane' | 'node' | 'both';

export interface AuditEventSpec {
  category: AuditCategory;
  severity: AuditSeverity;
  description: string;
  /** Every entry names it (a test checks); optional only so that a new entry compiles first. */
  side?: AuditSide;
  /** The strict schema of the event's details (control plane) or fields (node). */
  fields?: AuditFieldsSchema;
}

export const AUDIT_EVENTS = {
  'auth.sign_in.succeeded': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ method: ident, providerId: opt(ident), sessionId: opt(ident) }),
    description: 'A user signed in (method and connector in the details).',
  },
  'auth.sign_in.failed': {
    category: 'authentication',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ method: opt(ident), providerId: opt(ident) }),
    description: 'A sign-in was refused; the reason says why.',
  },
  'auth.second_factor.succeeded': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ method: ident, sessionId: ident, recoveryCodesLeft: opt(count) }),
    description: 'A user confirmed a sign-in with an authenticator code or a recovery code.',
  },
  'auth.second_factor.failed': {
    category: 'authentication',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ method: ident, sessionId: ident }),
    description: 'A second-factor code was refused; the reason says why.',
  },
  'auth.second_factor.enrolled': {
    category: 'authentication',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ method: ident, sessionId: ident, recoveryCodes: count }),
    description: 'A user set up an authenticator app and received new recovery codes.',
  },
  'auth.second_factor.removed': {
    category: 'authentication',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ userId: ident, sessionId: ident }),
    description: "A user's authenticator app and recovery codes were removed.",
  },
  'auth.email_code.sent': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ method: ident, expiresAt: ident }),
    description: 'A one-time sign-in code was emailed.',
  },
  'auth.email_code.refused': {
    category: 'authentication',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ method: ident }),
    description: 'A sign-in code was not sent (rate limit, method off, mail relay down).',
  },
  'auth.password.set': {
    category: 'authentication',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ userId: ident, sessionId: opt(ident), replaced: flag, by: opt(ident) }),
    description: 'A local password was set or changed.',
  },
  'auth.locked_out': {
    category: 'authentication',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ method: opt(ident), providerId: opt(ident), sessionId: opt(ident) }),
    description: 'Too many failures: further attempts are refused for a while.',
  },
  'auth.signed_out': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ sessionId: ident }),
    description: 'A user signed out.',
  },
  'auth.session.revoked': {
    category: 'authentication',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ sessionId: opt(ident), userId: ident, by: ident, revoked: opt(count) }),
    description: 'Sessions were ended by their user or by an administrator.',
  },
  'access.address_refused': {
    category: 'access',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ path: opt(text) }),
    description: "A request or sign-in came from outside the tenant's IP allow-list.",
  },
  'config.identity_provider.added': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ providerId: ident, kind: ident, name: text }),
    description: 'A sign-in connector (OIDC or SAML) was added.',
  },
  'config.identity_provider.removed': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ providerId: ident }),
    description: 'A sign-in connector was removed.',
  },
  'config.sign_in_policy.changed': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ passwordsAllowed: flag, emailCodesAllowed: flag, requireSecondFactor: flag }),
    description: "The tenant's sign-in policy changed.",
  },
  'config.allow_list.changed': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ entries: text }),
    description: "The tenant's IP allow-list changed.",
  },
  'config.role.created': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ roleId: ident, role: ident, template: ident, permissions: text }),
    description: 'A custom role was created from a template.',
  },
  'config.role.deleted': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ roleId: ident, role: ident, assignmentsRemoved: count }),
    description: 'A custom role was deleted, with its assignments.',
  },
  'access.role.assigned': {
    category: 'access',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({
      assignmentId: ident,
      role: ident,
      principal: ident,
      scope: ident,
      workspaceId: opt(ident),
      folder: opt(text),
      invitationId: opt(ident),
    }),
    description: 'A role was assigned to a user or group on the tenant, a workspace or a folder.',
  },
  'access.role.removed': {
    category: 'access',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({
      assignmentId: ident,
      role: opt(ident),
      principal: opt(ident),
      scope: opt(ident),
      workspaceId: opt(ident),
      folder: opt(text),
      invitationId: opt(ident),
    }),
    description: 'A role assignment was removed.',
  },
  'access.role.refused': {
    category: 'access',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({
      action: opt(ident),
      role: ident,
      principal: opt(ident),
      scope: opt(ident),
      workspaceId: opt(ident),
      folder: opt(text),
      missing: text,
    }),
    description:
      'A role change was refused (create, delete, assign, remove; details.action): the caller lacks a permission the role grants.',
  },
  'admin.tenant.created': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ slug: ident, region: ident }),
    description: 'A tenant was created.',
  },
  'admin.tenant.delete_requested': {
    category: 'administration',
    severity: 'critical',
    side: 'control-plane',
    fields: fields({ slug: ident }),
    description:
      "Deleting a tenant was asked for: its sessions ended and every workspace's deletion was sent to its node.",
  },
  'admin.tenant.deleted': {
    category: 'administration',
    severity: 'critical',
    side: 'control-plane',
    fields: fields({ nodesRevoked: count }),
    description:
      "A tenant's deletion finished: every workspace's keys are destroyed and its nodes are revoked.",
  },
  'config.tenant.changed': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({
      name: opt(text),
      nameBefore: opt(text),
      region: opt(ident),
      regionBefore: opt(ident),
      retentionDays: opt(count),
      retentionDaysBefore: opt(count),
      keyRotationDays: opt(count),
      keyRotationDaysBefore: opt(count),
    }),
    description: "The tenant's settings changed (region, retention, key-rotation period).",
  },
  'admin.user.created': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ userId: ident, kind: ident, invitationId: opt(ident) }),
    description: 'A user or partner account was created.',
  },
  'admin.user.disabled': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ userId: ident, sessionsRevoked: count }),
    description: 'A user was disabled (and signed out everywhere).',
  },
  'admin.user.enabled': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ userId: ident }),
    description: 'A disabled user was enabled again.',
  },
  'access.invitation.created': {
    category: 'access',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({
      invitationId: ident,
      userId: ident,
      userKind: ident,
      role: ident,
      workspaceId: ident,
      expiresAt: ident,
    }),
    description: 'A partner was invited to a workspace with a role.',
  },
  'access.invitation.revoked': {
    category: 'access',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ invitationId: ident, userId: ident, workspaceId: ident, again: opt(flag) }),
    description:
      "An invitation was revoked: the partner's access to the workspace ended (`again`: it was already revoked, nothing changed).",
  },
  'access.invitation.accepted': {
    category: 'access',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ invitationId: ident, workspaceId: ident, role: ident }),
    description: 'An invited partner signed in for the first time.',
  },
  'admin.workspace.created': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ workspaceId: ident, nodeId: ident, name: text }),
    description: "A workspace was created on one of the tenant's nodes.",
  },
  'admin.workspace.delete_requested': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ workspaceId: ident, again: opt(flag) }),
    description:
      'Deleting a workspace was asked for; the node destroys its keys and files (`again`: it was already being deleted).',
  },
  'admin.workspace.deleted': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ workspaceId: ident }),
    description: "The node confirmed a workspace's deletion: its keys are destroyed.",
  },
  // Anomaly alerts (services/control-plane/src/alerts): each alert is itself an audit event.
  'alert.download.outside_networks': {
    category: 'alert',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({
      ...alertFields('download.outside_networks'),
      user: ident,
      // The client address as recorded, which may be missing or unreadable (counts as outside).
      address: opt(text),
      workspaceId: opt(text),
      fileId: opt(text),
      bytes: count,
      networks: networkList,
    }),
    description:
      "A file was downloaded from an address outside the tenant's trusted networks (or its allow-list).",
  },
  'alert.download.volume': {
    category: 'alert',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({
      ...alertFields('download.volume'),
      user: ident,
      windowBytes: count,
      windowMinutes: count,
      baselineHourlyBytes: count,
      limitBytes: count,
    }),
    description: "A user's download volume in the last hour is far above their baseline.",
  },
  'alert.sign_in.burst': {
    category: 'alert',
    severity: 'warning',
    side: 'control-plane',
    fields: alertSignInBurstFields,
    description: 'A burst of failed sign-ins for one address or from one IP.',
  },
  'alert.delivery.failed': {
    category: 'alert',
    severity: 'warning',
    side: 'control-plane',
    // `error` is the deliverer's own sentence: never the URL (it may carry a token) or a secret.
    fields: fields({ alertId: ident, channel: alertChannel, attempts: count, error: text }),
    description:
      'An alert could not be delivered to its webhook or email address after every retry.',
  },
  'config.alert_settings.changed': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    // The webhook's host only (its path or query may carry a token), and whether a secret was
    // made, never the secret.
    fields: fields({
      webhookHost: ident.nullable(),
      emails: count,
      trustedNetworks: networkList,
      secretGenerated: flag,
    }),
    description:
      "The tenant's alert settings changed (webhook, emails, trusted networks, thresholds, a new signing secret).",
  },
  'config.alert_settings.read': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's alert settings were read (never the webhook's signing secret).",
  },
  'admin.workspace.quota_changed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({
      workspaceId: ident,
      quotaBytes: opt(count),
      previousQuotaBytes: opt(count),
      usedBytes: count,
    }),
    description: "A workspace's storage quota was set or removed (on its node first).",
  },
  'admin.workspace.key_rotation_requested': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ workspaceId: ident, nodeId: ident, jobId: ident, keyVersion: opt(int) }),
    description:
      "Rotating a workspace's master key was asked for; the node re-wraps its data keys in a job (id in the details).",
  },
  'data.file.uploaded': {
    category: 'data',
    severity: 'info',
    side: 'both',
    fields: fields(fileFields),
    description: 'A file (or a new version of it) was uploaded to a workspace.',
  },
  'data.upload.cancelled': {
    category: 'data',
    severity: 'info',
    side: 'both',
    fields: fields(fileFields),
    description:
      'An unfinished upload was cancelled (tus termination): the node dropped the parts it held.',
  },
  'data.file.downloaded': {
    category: 'data',
    severity: 'info',
    side: 'both',
    fields: fields(fileFields),
    description:
      'A file, or a byte range of it, is being sent to a user (recorded before the first byte; a download cut short is also recorded as download_failed).',
  },
  'data.file.download_failed': {
    category: 'data',
    severity: 'warning',
    side: 'both',
    fields: fields(fileFields),
    description:
      'A download stopped before its last byte: the client went away, or the node refused stored bytes that failed their integrity check.',
  },
  'data.file.renamed': {
    category: 'data',
    severity: 'info',
    side: 'both',
    fields: fields(fileFields),
    description: 'A file was renamed.',
  },
  'data.file.moved': {
    category: 'data',
    severity: 'info',
    side: 'both',
    fields: fields(fileFields),
    description: 'A file was moved to another folder.',
  },
  'data.file.deleted': {
    category: 'data',
    severity: 'notice',
    side: 'both',
    fields: fields(fileFields),
    description: 'A file and all its versions were deleted (their data keys destroyed).',
  },
  'delegation.refused': {
    category: 'access',
    severity: 'warning',
    side: 'node',
    fields: fields({
      ...nodeCaller,
      reason: opt(text),
      errorCode: opt(text),
      method: opt(text),
      messageId: opt(text),
      kid: opt(text),
      audience: opt(text),
      jti: opt(text),
    }),
    description:
      'The node refused a request: its delegation was missing, forged, expired, replayed or for another node (the reason says which).',
  },
  'trust.keys_updated': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ version: count }),
    description: "The node accepted a new set of the control plane's delegation signing keys.",
  },
  'trust.keys_refused': {
    category: 'configuration',
    severity: 'warning',
    side: 'node',
    fields: fields({ messageId: opt(ident), requestId: opt(ident), reason: text }),
    description:
      'The node refused a set of delegation signing keys (bad signature or older version).',
  },
  'certificate.renewed': {
    category: 'administration',
    severity: 'info',
    side: 'node',
    fields: fields({ serial: ident, notAfter: ident }),
    description: 'The node renewed its client certificate with the control plane.',
  },
  'certificate.renewal_failed': {
    category: 'administration',
    severity: 'warning',
    side: 'node',
    fields: fields({ reason: text }),
    description: 'The node could not renew its client certificate; it retries.',
  },
  'key.master_created': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, tenantId: opt(ident), masterKeyId: ident, version: int }),
    description: 'A workspace master key was created on the node.',
  },
  'key.rotation_started': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, jobId: ident, fromKeyId: text, toKeyId: ident }),
    description:
      'A workspace master key rotation started: a new version is active, data keys are being re-wrapped.',
  },
  'key.rotation_finished': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, jobId: ident, toKeyId: ident, rewrapped: count }),
    description: 'Every data key of a workspace was re-wrapped under its new master key.',
  },
  'key.master_destroyed': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, masterKeyId: ident, reason: ident }),
    description: 'A retired workspace master key version was destroyed.',
  },
  'key.workspace_destroyed': {
    category: 'configuration',
    severity: 'critical',
    side: 'node',
    fields: fields({ workspaceId: ident, masterKeysDestroyed: count, dataKeysShredded: count }),
    description: 'Every key of a workspace was destroyed: its files can never be read again.',
  },
  'key.tenant_destroyed': {
    category: 'configuration',
    severity: 'critical',
    side: 'node',
    fields: fields({
      tenantId: ident,
      workspaces: count,
      masterKeysDestroyed: count,
      dataKeysShredded: count,
    }),
    description: 'Every key of a tenant was destroyed on the node.',
  },
  'key.rotation_period_changed': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({
      tenantId: ident,
      rotationDays: count,
      previousDays: opt(count),
      revision: count,
    }),
    description: "The tenant's key-rotation period reached the node from the control plane.",
  },
  'config.sign_in_policy.read': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's sign-in policy was read.",
  },
  'config.allow_list.read': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's IP allow-list was read.",
  },
  'config.identity_provider.listed': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's sign-in connectors were listed.",
  },
  'auth.second_factor.setup_started': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description:
      'A user began setting up an authenticator app (a secret was issued, not yet confirmed).',
  },
  'auth.sign_in.started': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description:
      'A single sign-on was started (the browser was sent to the identity provider; method in the details).',
  },
  'auth.profile.read': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A signed-in user read who they are (their account, tenant and permissions).',
  },
  'auth.session.listed': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A user listed their own sessions.',
  },
  'admin.tenant.listed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'The platform operator listed the tenants.',
  },
  'admin.tenant.read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "A tenant's settings were read.",
  },
  'admin.user.listed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's users were listed.",
  },
  'admin.workspace.listed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's workspaces were listed.",
  },
  'admin.workspace.read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A workspace (its node, quota and usage) was read.',
  },
  'admin.workspace.members_read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "A workspace's members and their roles were read.",
  },
  'admin.workspace.key_status_read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "A workspace's key status (versions, rotation jobs) was read.",
  },
  'admin.node.listed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "Nodes were listed (all, or one tenant's).",
  },
  'admin.node.read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A node (its status and certificate) was read.',
  },
  'admin.node.pinged': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A node was pinged over the bridge.',
  },
  'admin.node.info_read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "A node's runtime information was read over the bridge.",
  },
  'admin.node.revoked': {
    category: 'administration',
    severity: 'critical',
    side: 'control-plane',
    fields: fields(routeFields),
    description:
      'A node was revoked: its broker user deleted, its route removed; it must enrol anew.',
  },
  'admin.join_token.created': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A join token for enrolling a node was created (its id, never the token).',
  },
  'admin.join_token.listed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's join tokens were listed.",
  },
  'admin.join_token.revoked': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A join token was revoked before use.',
  },
  'admin.dead_letter.listed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'Dead-lettered bridge messages were listed.',
  },
  'admin.dead_letter.read': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A dead-lettered bridge message was read.',
  },
  'admin.dead_letter.replayed': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A dead-lettered bridge message was published again.',
  },
  'config.role.listed': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The built-in and the tenant's custom roles were listed.",
  },
  'access.role.assignments_listed': {
    category: 'access',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'Role assignments were listed.',
  },
  'access.role.explained': {
    category: 'access',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'Why a user may or may not do something was explained (their matching grants).',
  },
  'access.invitation.listed': {
    category: 'access',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The tenant's invitations were listed.",
  },
  'config.signing_key.listed': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "The control plane's delegation signing keys were listed.",
  },
  'config.signing_key.rotated': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields(routeFields),
    description: 'A new delegation signing key was made active (the previous one retires).',
  },
  'admin.node.enrolled': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({
      nodeId: ident,
      name: text,
      region: ident,
      joinTokenId: ident,
      certSerial: ident,
    }),
    description: 'A node enrolled with a join token and received its certificate.',
  },
  'admin.node.enrolment_refused': {
    category: 'administration',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ nodeId: opt(ident), joinTokenId: opt(ident) }),
    description:
      'An enrolment was refused: the join token was unknown, used, expired or revoked, or the request named another tenant.',
  },
  'admin.node.certificate_renewed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ nodeId: ident, certSerial: ident, notAfter: ident }),
    description: "A node's certificate was renewed by the control plane's CA.",
  },
  'admin.node.online': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ nodeId: ident, version: opt(text), restarted: flag }),
    description:
      'A node came back online (its heartbeat returned after it was offline, or it restarted).',
  },
  'admin.node.heartbeat_unknown': {
    category: 'administration',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ nodeId: ident }),
    description:
      'A heartbeat came from a node the control plane does not know (never enrolled or deleted).',
  },
  'admin.outbox.command_failed': {
    category: 'administration',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ commandId: ident, method: ident, nodeId: opt(ident), errorCode: opt(ident) }),
    description: 'A command sent to a node through the outbox failed or expired without an answer.',
  },
  'admin.dead_letter.received': {
    category: 'administration',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({
      deadLetterId: ident,
      nodeId: opt(ident),
      queue: opt(ident),
      reason: opt(text),
    }),
    description:
      'A bridge message could not be delivered or handled and was kept as a dead letter.',
  },
  'access.denied': {
    category: 'access',
    severity: 'warning',
    side: 'both',
    fields: fields({
      ...nodeCaller,
      method: opt(text),
      path: opt(text),
      permission: opt(text),
      reason: opt(text),
      errorCode: opt(text),
      messageId: opt(text),
      kid: opt(text),
      audience: opt(text),
      jti: opt(text),
    }),
    description:
      "A request was refused for want of a permission (the control plane's guard or the node's own rules).",
  },
  'access.not_found': {
    category: 'access',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ path: text, permission: ident }),
    description:
      "A request named another tenant's, or a missing, tenant or workspace (answered 404 like anything missing).",
  },
  'auth.token.refused': {
    category: 'authentication',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ path: text, repeats: opt(count), firstAt: opt(text) }),
    description:
      'A request carried a bearer token that is not valid. Further ones from the same address within a minute are recorded as one event: `repeats` counts them from `firstAt`, `path` is the last one.',
  },
  'auth.second_factor.pending_refused': {
    category: 'authentication',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ path: text, sessionId: ident }),
    description: 'A request was refused because its session still awaits a second factor.',
  },
  'access.invitation.expired': {
    category: 'access',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ invitationId: ident, assignmentId: ident }),
    description: "An invitation expired: the partner's role on the workspace was removed.",
  },
  'node.pinged': {
    category: 'administration',
    severity: 'info',
    side: 'node',
    fields: fields({ ...nodeCaller }),
    description: 'The node answered a ping from the control plane.',
  },
  'node.info_read': {
    category: 'administration',
    severity: 'info',
    side: 'node',
    fields: fields({ ...nodeCaller, workspaces: opt(count) }),
    description: "The node's runtime information was read.",
  },
  'workspace.provisioned': {
    category: 'administration',
    severity: 'notice',
    side: 'node',
    fields: fields({ ...nodeCaller, workspaceId: ident, name: opt(text) }),
    description: 'A workspace was provisioned on the node (its master key created).',
  },
  'workspace.deleted': {
    category: 'administration',
    severity: 'notice',
    side: 'node',
    fields: fields({
      ...nodeCaller,
      workspaceId: ident,
      keysDestroyed: opt(count),
      objectsDeleted: opt(count),
    }),
    description: 'A workspace was deleted on the node: its keys destroyed, its objects removed.',
  },
  'workspace.quota_set': {
    category: 'administration',
    severity: 'info',
    side: 'node',
    fields: fields({
      ...nodeCaller,
      workspaceId: ident,
      quotaBytes: opt(count),
      usedBytes: opt(count),
    }),
    description: "A workspace's storage quota was set or removed on the node.",
  },
  'data.upload.started': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description:
      'An upload was opened on the node (size, folder and name checked, quota reserved).',
  },
  'data.upload.part_received': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description:
      'The node accepted the next part of an upload (its bytes stream in; committed when complete).',
  },
  'data.upload.status_read': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: 'How much of an upload the node holds was read (a resumed upload).',
  },
  'data.upload.expired': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: 'An upload left open past its lifetime was swept: the node dropped its parts.',
  },
  'data.file.listed': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: 'The files and subfolders of a folder were listed.',
  },
  'data.file.metadata_read': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: "A file's metadata (name, folder, size, version, hash) was read.",
  },
  'data.file.versions_listed': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: "A file's versions were listed.",
  },
  'key.rotation_requested': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ ...nodeCaller, workspaceId: ident, jobId: ident, keyVersion: opt(int) }),
    description: "Rotating a workspace's master key was asked of the node (job id in the fields).",
  },
  'key.status_read': {
    category: 'configuration',
    severity: 'info',
    side: 'node',
    fields: fields({ ...nodeCaller, workspaceId: ident }),
    description: "A workspace's key status was read on the node.",
  },
  'node.request.failed': {
    category: 'administration',
    severity: 'notice',
    side: 'node',
    fields: fields({
      ...nodeCaller,
      method: ident,
      errorCode: ident,
      workspaceId: opt(ident),
      fileId: opt(ident),
      uploadId: opt(ident),
    }),
    description:
      'A request the node accepted failed (not found, conflict, quota, validation): the error code says why.',
  },
  'node.started': {
    category: 'administration',
    severity: 'notice',
    side: 'node',
    fields: fields({ version: ident, nodeId: ident }),
    description: 'The node started and began taking requests.',
  },
  'node.stopped': {
    category: 'administration',
    severity: 'notice',
    side: 'node',
    fields: fields({ version: ident, nodeId: ident }),
    description: 'The node stopped taking requests and shut down.',
  },
  'node.bridge.connected': {
    category: 'administration',
    severity: 'info',
    side: 'node',
    fields: fields({ nodeId: ident }),
    description: 'The node connected to the broker.',
  },
  'node.bridge.disconnected': {
    category: 'administration',
    severity: 'warning',
    side: 'node',
    fields: fields({ nodeId: ident, reason: opt(text) }),
    description: 'The node lost its broker connection (it reconnects with backoff).',
  },
  'node.enrolled': {
    category: 'administration',
    severity: 'notice',
    side: 'node',
    fields: fields({ nodeId: ident, tenantId: ident, region: opt(ident) }),
    description: 'The node enrolled with the control plane and stored its certificate.',
  },
  'auth.sign_in_methods.read': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "A tenant's sign-in page read which sign-in methods are offered (anyone may).",
  },
  'config.identity_provider.metadata_read': {
    category: 'configuration',
    severity: 'info',
    side: 'control-plane',
    fields: fields(routeFields),
    description: "A SAML connector's service-provider metadata was read (anyone may).",
  },
  'admin.node.credentials_rotated': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ nodeId: ident }),
    description: "A node's broker credentials were replaced (the old password stops working).",
  },
  'admin.node.certificate_renewal_refused': {
    category: 'administration',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ nodeId: ident }),
    description: "A node's certificate renewal was refused; the reason says why.",
  },
  'admin.outbox.command_expired': {
    category: 'administration',
    severity: 'warning',
    side: 'control-plane',
    fields: fields({ expired: count }),
    description: 'A command sent to a node expired without an answer (the node was away too long).',
  },
  'data.upload.quota_exceeded': {
    category: 'data',
    severity: 'warning',
    side: 'node',
    fields: fields(fileFields),
    description: 'An upload was refused: it would take the workspace over its quota.',
  },
  'data.upload.orphans_dropped': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: 'The upload sweep dropped stored parts that belonged to no open upload.',
  },
  'data.upload.part_committed': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description:
      "A part of an upload was stored encrypted and committed: the upload's offset moved on.",
  },
  'data.upload.part_failed': {
    category: 'data',
    severity: 'warning',
    side: 'node',
    fields: fields(fileFields),
    description:
      'A part of an upload failed while it was received (the stream broke or the bytes did not fit): the node dropped it.',
  },
  'data.upload.parts_dropped': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: 'At start the node dropped stored parts a previous run never committed.',
  },
  'data.file.download_completed': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description: 'The node sent the last byte of a download.',
  },
  'config.signing_key.created': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ kid: ident }),
    description: 'The control plane created its first delegation signing key.',
  },
  'admin.node.keys_pushed': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ nodeId: ident, reason: ident }),
    description: 'The control plane sent its current signing keys to a node that lacked them.',
  },
  'auth.expired_records.purged': {
    category: 'authentication',
    severity: 'info',
    side: 'control-plane',
    fields: fields({
      sessions: opt(count),
      login_attempts: opt(count),
      email_codes: opt(count),
      saml_requests: opt(count),
      saml_used_assertions: opt(count),
      sign_in_failures: opt(count),
    }),
    description:
      'Expired sign-in records were deleted: sessions, login states, email codes, SAML requests and assertions, failure counters (counts in the details).',
  },
  'admin.node.offline': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ nodeId: ident }),
    description: 'A node said it is stopping: the control plane shows it offline at once.',
  },
  'admin.node.version_changed': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ nodeId: ident, version: text, previousVersion: text }),
    description: 'A node came back with another software version (an upgrade or a downgrade).',
  },
  'admin.outbox.command_resent': {
    category: 'administration',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ commandId: ident, method: ident, nodeId: ident }),
    description: 'A command a node refused as stale was sent again with a fresh delegation.',
  },
  'config.signing_key.retired': {
    category: 'configuration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ kid: ident, successor: ident }),
    description:
      'A delegation signing key was retired: its private half destroyed, nothing can sign with it again.',
  },
  'key.rotation_resumed': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, jobId: ident, rewrapped: count }),
    description: 'A master key rotation left running by a stop was resumed at start.',
  },
  'key.rotation_scheduled': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, rotationDays: count }),
    description:
      "A workspace master key was due under its tenant's rotation period: the node rotates it.",
  },
  'key.rotation_failed': {
    category: 'configuration',
    severity: 'warning',
    side: 'node',
    fields: fields({ workspaceId: ident, errorCode: ident }),
    description: 'A scheduled master key rotation failed; the next pass tries again.',
  },
  'key.keystore_opened': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ nodeId: ident }),
    description:
      'The node unsealed its keystore at start (with the seal key), so it can serve workspace data.',
  },
  'key.data_keys_destroyed': {
    category: 'configuration',
    severity: 'notice',
    side: 'node',
    fields: fields({ workspaceId: ident, fileId: ident, versions: count, dataKeys: count }),
    description:
      "The data keys of a deleted file's versions were destroyed: its bytes can never be decrypted again.",
  },
  'admin.cli.command_run': {
    category: 'administration',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ command: text }),
    description:
      'An operator ran a control-plane command on its host (causeway-admin), acting without the API.',
  },
  'auth.session.refused': {
    category: 'authentication',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({ path: text, repeats: opt(count), firstAt: opt(text) }),
    description:
      'A request carried a session cookie that is unknown, expired or ended. Further ones of the same reason from the same address within a minute are recorded as one event: `repeats` counts them from `firstAt`, `path` is the last one.',
  },
  'data.upload.resumed': {
    category: 'data',
    severity: 'info',
    side: 'node',
    fields: fields(fileFields),
    description:
      'An interrupted upload was opened again where it stood (the node already held some of its bytes).',
  },
  'audit.log.read': {
    category: 'data',
    severity: 'info',
    side: 'control-plane',
    fields: fields({
      tenant: ident,
      filters: text,
      actorFilter: opt(text),
      count: count,
      pseudonymised: flag,
    }),
    description:
      "Someone read a page of the tenant's audit trail (the filters, how many events were answered, whether people were pseudonymised).",
  },
  'audit.log.exported': {
    category: 'data',
    severity: 'notice',
    side: 'control-plane',
    fields: fields({
      tenant: ident,
      format: ident,
      filters: text,
      actorFilter: opt(text),
      upToSeq: count,
      pseudonymised: flag,
    }),
    description:
      "Someone exported the tenant's audit trail as CSV or JSONL (recorded before the first byte; the export holds the matching events up to `upToSeq`).",
  },
  'audit.log.verified': {
    category: 'data',
    severity: 'info',
    side: 'control-plane',
    fields: fields({ tenant: ident, ok: flag, entries: count, segments: count, problems: count }),
    description:
      "Someone verified the tenant's audit chain through the API (the outcome is a failure when a problem was found).",
  },
} as const satisfies Record<string, AuditEventSpec>;

export type AuditEventType = keyof typeof AUDIT_EVENTS;

export const AUDIT_EVENT_TYPES = Object.keys(AUDIT_EVENTS) as AuditEventType[];

export function isAuditEventType(value: unknown): value is AuditEventType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(AUDIT_EVENTS, value);
}

/** Events the node records in its own chain. */
export type NodeAuditEventType = {
  [K in AuditEventType]: (typeof AUDIT_EVENTS)[K]['side'] extends 'control-plane' ? never : K;
}[AuditEventType];

/** Events the control plane records. */
export type ControlPlaneAuditEventType = {
  [K in AuditEventType]: (typeof AUDIT_EVENTS)[K]['side'] extends 'node' ? never : K;
}[AuditEventType];

export function auditEventSide(type: AuditEventType): AuditSide {
  return (AUDIT_EVENTS[type] as AuditEventSpec).side ?? 'control-plane';
}

/** A record whose details do not match its catalogue entry: a programming error, never input. */
export class AuditDetailsError extends Error {
  constructor(
    readonly type: string,
    readonly problems: string[],
  ) {
    super(`audit event "${type}" has invalid details: ${problems.join('; ')}`);
    this.name = 'AuditDetailsError';
  }
}

/**
 * Checks an event's details (control plane) or fields (node) against its catalogue entry and
 * throws AuditDetailsError when they do not match: an unknown event, a field the catalogue
 * does not name (which is how a secret would slip in), or a value of the wrong type.
 */
export function checkAuditDetails(type: string, details: unknown): void {
  if (!isAuditEventType(type)) throw new AuditDetailsError(type, ['not in the catalogue']);
  const schema = (AUDIT_EVENTS[type] as AuditEventSpec).fields ?? scalarFields;
  const result = schema.safeParse(details ?? {});
  if (!result.success) {
    throw new AuditDetailsError(
      type,
      result.error.issues.map((i) => `${i.path.join('.') || '(details)'}: ${i.message}`),
    );
  }
}
