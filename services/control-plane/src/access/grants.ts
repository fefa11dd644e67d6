import { PERMISSIONS, type Permission, type RoleTemplate } from '@causeway/contracts';

/** Where a role assignment applies. */
export type GrantScope =
  | { type: 'tenant' }
  | { type: 'workspace'; workspaceId: string }
  | { type: 'folder'; workspaceId: string; path: string };

/** One role a user holds somewhere, and how they came to hold it. */
export interface Grant {
  /** The assignment row; null for a role mapped from the identity provider at sign-in. */
  assignmentId: string | null;
  role: string;
  template: RoleTemplate;
  permissions: readonly Permission[];
  scope: GrantScope;
  /** `user` (assigned to the person), `group:<name>` (to an SSO group), `sso-mapping`. */
  via: string;
}

/** What a request is about, beyond the tenant: a workspace, and inside it a folder. */
export interface AccessTarget {
  workspaceId?: string;
  /** Canonical folder path (`/`, `/contracts/2026`); only with a workspace. */
  folder?: string;
}

/** `/a/b` is within `/a` and `/`; `/ab` is not within `/a`. */
export function isWithin(path: string, folder: string): boolean {
  if (folder === '/') return true;
  return path === folder || path.startsWith(`${folder}/`);
}

/**
 * Whether a grant's scope covers the target for this permission:
 * - a tenant-wide grant covers every workspace and folder of the tenant;
 * - a workspace grant covers that workspace and its folders;
 * - a folder grant covers that folder and below, and lets its holder see the workspace itself
 *   (`workspaces.read`) so they can reach the folder;
 * - on a route about no workspace in particular (a list), a workspace-level permission held
 *   anywhere lets the request through, and the list shows only what the holder may see.
 */
export function covers(scope: GrantScope, target: AccessTarget, permission: Permission): boolean {
  if (scope.type === 'tenant') return true;
  if (target.workspaceId === undefined) return PERMISSIONS[permission].level === 'workspace';
  if (scope.workspaceId !== target.workspaceId) return false;
  if (scope.type === 'workspace') return true;
  if (target.folder === undefined) return permission === 'workspaces.read';
  return isWithin(target.folder, scope.path);
}

/** The decision and the grants that make it: empty when denied. */
export function decide(
  grants: readonly Grant[],
  permission: Permission,
  target: AccessTarget,
): { allowed: boolean; because: Grant[] } {
  const because = grants.filter(
    (g) => g.permissions.includes(permission) && covers(g.scope, target, permission),
  );
  return { allowed: because.length > 0, because };
}

/**
 * The workspaces a permission reaches: `all` when it is held on the tenant, else the ids of
 * the workspaces (or folders in them) it is held on.
 */
export function workspacesWith(
  grants: readonly Grant[],
  permission: Permission,
): 'all' | Set<string> {
  const ids = new Set<string>();
  for (const g of grants) {
    if (!g.permissions.includes(permission)) continue;
    if (g.scope.type === 'tenant') return 'all';
    ids.add(g.scope.workspaceId);
  }
  return ids;
}

/**
 * A folder path as stored and compared: starts with `/`, no empty, `.` or `..` segment, no
 * trailing slash (except the root). Undefined when the path is not acceptable.
 */
export function canonicalFolder(raw: string): string | undefined {
  if (raw.length === 0 || raw.length > 1024 || !raw.startsWith('/')) return undefined;
  if (raw === '/') return '/';
  const segments = raw.replace(/\/+$/, '').split('/').slice(1);
  for (const s of segments) {
    // eslint-disable-next-line no-control-regex
    if (s === '' || s === '.' || s === '..' || s.length > 255 || /[\u0000-\u001f\\]/.test(s)) {
      return undefined;
    }
  }
  return `/${segments.join('/')}`;
}
