import { request } from '../api/client';
import type {
  AdminWorkspace,
  AlertSettings,
  AlertSettingsChange,
  Assignment,
  AuditFilters,
  AuditPage,
  CreatedInvitation,
  IdentityProvider,
  Invitation,
  KeyStatus,
  NewAssignment,
  NewOidcProvider,
  NewRole,
  NewSamlProvider,
  NodeView,
  Role,
  RotationJob,
  SignInPolicy,
  TenantSettings,
  TenantSettingsChange,
  User,
} from './types';

/**
 * The admin console's calls: only the public routes under /api/v1/tenants/{tenant}, through the
 * console's one request helper (same origin, session cookie, errors as ApiError).
 */
const seg = encodeURIComponent;
const t = (tenant: string) => `/tenants/${seg(tenant)}`;

/** The audit filters as a query string; empty filters are left out (the API refuses empty ones). */
export function auditQuery(filters: AuditFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (typeof value === 'string' && value.trim() !== '') params.set(key, value.trim());
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}

/** A plain link: the browser downloads the export itself (Content-Disposition: attachment). */
export function auditExportUrl(
  tenant: string,
  filters: AuditFilters,
  format: 'csv' | 'jsonl',
): string {
  return `/api/v1${t(tenant)}/audit-events/export?${auditQuery(filters, { format })}`;
}

export const adminApi = {
  tenant: (tenant: string) => request<TenantSettings>('GET', t(tenant), 'load'),
  updateTenant: (tenant: string, change: TenantSettingsChange) =>
    request<TenantSettings>('PATCH', t(tenant), 'load', change),

  identityProviders: (tenant: string) =>
    request<{ items: IdentityProvider[] }>('GET', `${t(tenant)}/identity-providers`, 'load'),
  addIdentityProvider: (tenant: string, body: NewOidcProvider | NewSamlProvider) =>
    request<IdentityProvider>('POST', `${t(tenant)}/identity-providers`, 'load', body),
  removeIdentityProvider: (tenant: string, id: string) =>
    request<void>('DELETE', `${t(tenant)}/identity-providers/${seg(id)}`, 'load'),

  signInPolicy: (tenant: string) =>
    request<SignInPolicy>('GET', `${t(tenant)}/sign-in-policy`, 'load'),
  updateSignInPolicy: (tenant: string, change: Partial<SignInPolicy>) =>
    request<SignInPolicy>('PUT', `${t(tenant)}/sign-in-policy`, 'load', change),

  roles: (tenant: string) => request<{ items: Role[] }>('GET', `${t(tenant)}/roles`, 'load'),
  createRole: (tenant: string, body: NewRole) =>
    request<Role>('POST', `${t(tenant)}/roles`, 'load', body),
  deleteRole: (tenant: string, name: string) =>
    request<void>('DELETE', `${t(tenant)}/roles/${seg(name)}`, 'load'),
  assignments: (tenant: string) =>
    request<{ items: Assignment[] }>('GET', `${t(tenant)}/role-assignments`, 'load'),
  assign: (tenant: string, body: NewAssignment) =>
    request<Assignment>('POST', `${t(tenant)}/role-assignments`, 'load', body),
  unassign: (tenant: string, id: string) =>
    request<void>('DELETE', `${t(tenant)}/role-assignments/${seg(id)}`, 'load'),
  users: (tenant: string) => request<{ items: User[] }>('GET', `${t(tenant)}/users`, 'load'),
  addUser: (tenant: string, body: { email: string; displayName?: string; kind: User['kind'] }) =>
    request<User>('POST', `${t(tenant)}/users`, 'load', body),
  setUserDisabled: (tenant: string, id: string, disabled: boolean) =>
    request<User>(
      'POST',
      `${t(tenant)}/users/${seg(id)}/${disabled ? 'disable' : 'enable'}`,
      'load',
    ),

  workspaces: (tenant: string) =>
    request<{ items: AdminWorkspace[] }>('GET', `${t(tenant)}/workspaces`, 'load'),
  invitations: (tenant: string) =>
    request<{ items: Invitation[] }>('GET', `${t(tenant)}/invitations`, 'load'),
  invite: (tenant: string, workspaceId: string, body: { email: string; role: string }) =>
    request<CreatedInvitation>(
      'POST',
      `${t(tenant)}/workspaces/${seg(workspaceId)}/invitations`,
      'load',
      body,
    ),
  revokeInvitation: (tenant: string, id: string) =>
    request<Invitation>('DELETE', `${t(tenant)}/invitations/${seg(id)}`, 'load'),

  allowList: (tenant: string) =>
    request<{ entries: string[] }>('GET', `${t(tenant)}/allow-list`, 'load'),
  replaceAllowList: (tenant: string, entries: string[]) =>
    request<{ entries: string[] }>('PUT', `${t(tenant)}/allow-list`, 'load', { entries }),

  nodes: (tenant: string) => request<{ items: NodeView[] }>('GET', `${t(tenant)}/nodes`, 'load'),

  keyStatus: (tenant: string, workspaceId: string) =>
    request<KeyStatus>('GET', `${t(tenant)}/workspaces/${seg(workspaceId)}/keys`, 'load'),
  rotateKey: (tenant: string, workspaceId: string) =>
    request<RotationJob>('POST', `${t(tenant)}/workspaces/${seg(workspaceId)}/keys/rotate`, 'load'),

  alertSettings: (tenant: string) =>
    request<AlertSettings>('GET', `${t(tenant)}/alert-settings`, 'load'),
  updateAlertSettings: (tenant: string, body: AlertSettingsChange) =>
    request<AlertSettings>('PUT', `${t(tenant)}/alert-settings`, 'load', body),

  auditEvents: (tenant: string, filters: AuditFilters, after?: number, limit = 100) =>
    request<AuditPage>(
      'GET',
      `${t(tenant)}/audit-events?${auditQuery(filters, {
        limit: String(limit),
        ...(after === undefined ? {} : { after: String(after) }),
      })}`,
      'load',
    ),
};
