/**
 * The one catalogue of permissions. Every route declares one of these (or is explicitly public);
 * the guard layer is the only place that decides.
 */
export const PERMISSIONS = {
  'allow-list.manage': "Read and change the tenant's IP allow-list (who may connect from where).",
  'identity-providers.manage': "Add, list and remove the tenant's sign-in connectors (OIDC, SAML).",
  'sign-in-policy.manage':
    "Read and change the tenant's sign-in policy (passwords, emailed codes, required second factor).",
  'audit.read':
    "Read the tenant's audit events (sign-ins and their failures, configuration changes).",
  'account.self':
    'Read your own account, list or end your own sessions, set up your second factor.',
  'users.sessions.revoke': 'End all sessions of a user of the tenant (sign them out everywhere).',
  'nodes.read': 'List nodes and read their state.',
  'nodes.ping': 'Send a diagnostic request (ping, info) to a node over the bridge.',
  'nodes.revoke': 'Revoke a node: cut it off the broker and refuse its messages.',
  'signing-keys.read': "List the control plane's delegation signing keys.",
  'signing-keys.rotate': 'Rotate the delegation signing key (nodes learn the new key first).',
  'join-tokens.manage': 'Create, list and revoke the one-time tokens that enrol nodes.',
  'workspaces.read': 'List workspaces and read their state.',
  'workspaces.create': "Create a workspace on one of the tenant's nodes.",
  'dead-letters.read': 'List and inspect messages the bridge could not deliver.',
  'dead-letters.replay': 'Send a dead-lettered message again to its queue.',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];
