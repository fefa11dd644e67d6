/**
 * The one catalogue of permissions. Every route declares one of these (or is explicitly public);
 * the guard layer is the only place that decides.
 *
 * Each permission has a level, which says where a role may grant it:
 * - `platform`: the platform operator only (bearer token); no role grants it.
 * - `tenant`: a role assigned on the whole tenant.
 * - `workspace`: a role assigned on the tenant (every workspace), one workspace, or one folder.
 * - `self`: every signed-in user, over their own account.
 */
export type PermissionLevel = 'platform' | 'tenant' | 'workspace' | 'self';

export const PERMISSIONS = {
  'account.self': {
    level: 'self',
    description: 'Read your own account, list or end your own sessions, set up your second factor.',
  },
  'tenants.create': { level: 'platform', description: 'Create tenants and list all tenants.' },
  'tenants.delete': {
    level: 'platform',
    description:
      "Delete a tenant: every workspace's keys are destroyed on its node, then its nodes are revoked.",
  },
  'signing-keys.read': {
    level: 'platform',
    description: "List the control plane's delegation signing keys.",
  },
  'signing-keys.rotate': {
    level: 'platform',
    description: 'Rotate the delegation signing key (nodes learn the new key first).',
  },
  'dead-letters.read': {
    level: 'platform',
    description: 'List and inspect messages the bridge could not deliver.',
  },
  'dead-letters.replay': {
    level: 'platform',
    description: 'Send a dead-lettered message again to its queue.',
  },
  'nodes.ping': {
    level: 'platform',
    description: 'Send a diagnostic request (ping, info) to a node over the bridge.',
  },
  'nodes.revoke': {
    level: 'platform',
    description: 'Revoke a node: cut it off the broker and refuse its messages.',
  },
  'tenant.read': {
    level: 'tenant',
    description: "Read the tenant's settings (region, retention, key-rotation period).",
  },
  'tenant.settings.manage': {
    level: 'tenant',
    description: "Change the tenant's settings (data residency, retention, key-rotation period).",
  },
  'allow-list.manage': {
    level: 'tenant',
    description: "Read and change the tenant's IP allow-list (who may connect from where).",
  },
  'identity-providers.manage': {
    level: 'tenant',
    description: "Add, list and remove the tenant's sign-in connectors (OIDC, SAML).",
  },
  'sign-in-policy.manage': {
    level: 'tenant',
    description:
      "Read and change the tenant's sign-in policy (passwords, emailed codes, required second factor).",
  },
  'audit.read': {
    level: 'tenant',
    description:
      "Read the tenant's audit events (sign-ins and their failures, configuration changes).",
  },
  'audit.identities.read': {
    level: 'tenant',
    description:
      'See who is who in the audit trail (user ids and email addresses); without it, audit events show a pseudonym per person.',
  },
  'alerts.manage': {
    level: 'tenant',
    description:
      "Read and change the tenant's anomaly alert settings (webhook and its signing secret, emails, trusted networks, thresholds).",
  },
  'users.read': { level: 'tenant', description: "List the tenant's users and partners." },
  'users.manage': { level: 'tenant', description: 'Add users, disable and enable them.' },
  'users.sessions.revoke': {
    level: 'tenant',
    description: 'End all sessions of a user of the tenant (sign them out everywhere).',
  },
  'roles.read': {
    level: 'tenant',
    description: 'List roles and assignments, and ask why someone has or lacks a permission.',
  },
  'roles.manage': {
    level: 'tenant',
    description: 'Create and delete custom roles (each derived from a template).',
  },
  'roles.assign': {
    level: 'tenant',
    description: 'Assign and remove roles (only roles whose permissions you hold yourself).',
  },
  'invitations.manage': {
    level: 'tenant',
    description: 'Invite partners to workspaces, list and revoke invitations.',
  },
  'nodes.read': { level: 'tenant', description: "List the tenant's nodes and read their state." },
  'join-tokens.manage': {
    level: 'tenant',
    description: 'Create, list and revoke the one-time tokens that enrol nodes.',
  },
  'workspaces.create': {
    level: 'tenant',
    description: "Create a workspace on one of the tenant's nodes (in the tenant's region).",
  },
  'workspaces.delete': {
    level: 'tenant',
    description:
      'Delete a workspace: its files and, on the node, its keys, so its data can never be read again.',
  },
  'keys.rotate': {
    level: 'tenant',
    description:
      "Rotate a workspace's master key on its node now (its data keys are re-wrapped under the new key).",
  },
  'keys.read': {
    level: 'tenant',
    description:
      "Read a workspace's key status: active master key version, rotation period and re-wrap jobs.",
  },
  'workspaces.manage': {
    level: 'tenant',
    description: "Change a workspace's settings (its storage quota).",
  },
  'workspaces.read': {
    level: 'workspace',
    description: 'See a workspace and read its state.',
  },
  'workspace.members.read': {
    level: 'workspace',
    description: 'See who has access to a workspace.',
  },
  'files.read': {
    level: 'workspace',
    description: 'List, download and see versions of files.',
  },
  'files.write': {
    level: 'workspace',
    description: 'Upload, rename, move and delete files.',
  },
} as const satisfies Record<string, { level: PermissionLevel; description: string }>;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PERMISSIONS, value);
}

export function permissionsOfLevel(...levels: PermissionLevel[]): Permission[] {
  return ALL_PERMISSIONS.filter((p) => levels.includes(PERMISSIONS[p].level));
}

/** Where a role may be assigned. */
export type ScopeType = 'tenant' | 'workspace' | 'folder';

/**
 * The predefined role templates. Built-in roles carry these names and exactly these
 * permissions; a custom role is derived from one template and holds a subset of its
 * permissions. A role holding any tenant-level permission can only be assigned on the tenant.
 */
const TENANT_AND_WORKSPACE = permissionsOfLevel('tenant', 'workspace');

export const ROLE_TEMPLATES = {
  owner: {
    description: 'Everything in the tenant, including its settings and data residency.',
    permissions: TENANT_AND_WORKSPACE,
  },
  admin: {
    description:
      "Runs the tenant: sign-in, users, roles, partners, nodes; not the tenant's settings.",
    permissions: TENANT_AND_WORKSPACE.filter((p) => p !== 'tenant.settings.manage'),
  },
  auditor: {
    description: 'Reads the audit trail, users, roles, nodes and workspaces; changes nothing.',
    permissions: [
      'tenant.read',
      'audit.read',
      'users.read',
      'roles.read',
      'nodes.read',
      'keys.read',
      'workspaces.read',
      'workspace.members.read',
    ],
  },
  member: {
    description:
      'An employee: works with files in the workspaces (or the whole tenant) the role is assigned on.',
    permissions: ['workspaces.read', 'workspace.members.read', 'files.read', 'files.write'],
  },
  'partner-editor': {
    description: 'A partner who reads and uploads files in a shared workspace or folder.',
    permissions: ['workspaces.read', 'workspace.members.read', 'files.read', 'files.write'],
  },
  'partner-viewer': {
    description: 'A partner who only reads files in a shared workspace or folder.',
    permissions: ['workspaces.read', 'files.read'],
  },
} as const satisfies Record<string, { description: string; permissions: readonly Permission[] }>;

export type RoleTemplate = keyof typeof ROLE_TEMPLATES;

export const ROLE_TEMPLATE_NAMES = Object.keys(ROLE_TEMPLATES) as RoleTemplate[];

export function isRoleTemplate(value: unknown): value is RoleTemplate {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ROLE_TEMPLATES, value);
}

/** The scopes a role with these permissions may be assigned on. */
export function assignableScopes(permissions: readonly Permission[]): ScopeType[] {
  return permissions.some((p) => PERMISSIONS[p].level === 'tenant')
    ? ['tenant']
    : ['tenant', 'workspace', 'folder'];
}
