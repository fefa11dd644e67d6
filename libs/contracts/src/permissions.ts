/**
 * The one catalogue of permissions. Every route declares one of these (or is explicitly public);
 * the guard layer is the only place that decides.
 */
export const PERMISSIONS = {
  'nodes.read': 'List nodes and read their state.',
  'nodes.ping': 'Send a diagnostic request (ping, info) to a node over the bridge.',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];
