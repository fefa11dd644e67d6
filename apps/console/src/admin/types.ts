/**
 * The shapes of the admin routes' answers, as the console reads them (see docs/admin/*.md and
 * /api/docs). Only the fields the pages use are declared, so a field added later breaks nothing.
 */

export interface TenantSettings {
  id: string;
  slug: string;
  name: string;
  region: string;
  retentionDays: number;
  keyRotationDays: number;
  state: 'active' | 'deleting' | 'deleted';
  createdAt: string;
}

export type TenantSettingsChange = Partial<
  Pick<TenantSettings, 'name' | 'region' | 'retentionDays' | 'keyRotationDays'>
>;

export interface IdentityProvider {
  id: string;
  kind: 'oidc' | 'saml';
  name: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  redirectUri?: string;
  loginUrl: string;
  metadataUrl?: string;
  spEntityId?: string;
  acsUrl?: string;
  createdAt: string;
}

export interface NewOidcProvider {
  kind: 'oidc';
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes?: string[];
  claims?: { email?: string; name?: string; groups?: string };
  partners: boolean;
}

export interface NewSamlProvider {
  kind: 'saml';
  name: string;
  idpMetadataXml: string;
  allowIdpInitiated: boolean;
  trustEmail: boolean;
  partners: boolean;
  attributes?: { email?: string; name?: string; groups?: string };
}

export interface SignInPolicy {
  passwordsAllowed: boolean;
  emailCodesAllowed: boolean;
  requireSecondFactor: boolean;
}

export type ScopeType = 'tenant' | 'workspace' | 'folder';

export type Scope =
  | { type: 'tenant' }
  | { type: 'workspace'; workspaceId: string }
  | { type: 'folder'; workspaceId: string; folder: string };

export interface Role {
  id: string | null;
  name: string;
  builtIn: boolean;
  template: string;
  description: string;
  permissions: string[];
  assignableScopes: ScopeType[];
}

export interface NewRole {
  name: string;
  template: string;
  permissions?: string[];
  description?: string;
}

export interface Assignment {
  id: string;
  role: string;
  builtIn: boolean;
  /** `user:<id>` or `group:<name>`. */
  principal: string;
  scope: Scope;
  createdAt: string;
  createdBy: string;
}

export interface NewAssignment {
  role: string;
  user?: string;
  group?: string;
  scope: Scope;
}

export interface User {
  id: string;
  email: string;
  displayName: string | null;
  kind: 'member' | 'partner';
  disabled: boolean;
  createdAt: string;
}

export interface AdminWorkspace {
  id: string;
  nodeId: string;
  name: string;
  state: 'provisioning' | 'ready' | 'failed' | 'deleting';
  quotaBytes: number | null;
  createdAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  userId: string;
  role: string;
  workspaceId: string;
  workspaceName: string;
  state: 'pending' | 'accepted' | 'revoked' | 'expired';
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  acceptedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedInvitation {
  id: string;
  email: string;
  role: string;
  workspaceId: string;
  expiresAt: string;
  signInUrl: string;
  emailSent: boolean;
}

export interface NodeView {
  id: string;
  name: string;
  region: string;
  status: 'online' | 'offline' | 'revoked';
  state: 'registered' | 'up' | 'stopping';
  version: string | null;
  hostname: string | null;
  startedAt: string | null;
  lastHeartbeatAt: string | null;
  revokedAt: string | null;
  certificate: { serial: string; notAfter: string; renewedAt: string | null } | null;
  createdAt: string;
}

export interface RotationJob {
  jobId: string;
  state: 'running' | 'done' | 'superseded' | 'cancelled';
  keyVersion: number;
  rewrapped: number;
  startedAt: string;
  finishedAt: string | null;
}

export interface KeyStatus {
  workspaceId: string;
  activeVersion: number;
  createdAt: string;
  rotatedAt: string | null;
  retiringVersions: number[];
  rotationDays: number | null;
  nextRotationDueAt: string | null;
  jobs: RotationJob[];
}

export interface AlertSettings {
  webhookUrl: string | null;
  webhookSecretSet: boolean;
  emails: string[];
  trustedNetworks: string[];
  volumeMultiplier: number;
  volumeFloorBytes: number;
  signInBurstThreshold: number;
  webhookSecret?: string;
}

export interface AlertSettingsChange {
  webhookUrl: string | null;
  emails: string[];
  trustedNetworks: string[];
  volumeMultiplier: number | null;
  volumeFloorBytes: number | null;
  signInBurstThreshold: number | null;
  rotateSecret?: boolean;
}

export interface AuditEvent {
  id: string;
  seq: number;
  type: string;
  category: string;
  severity: string;
  outcome: 'success' | 'failure';
  /** `user:<id>`, `email:<address>`, … or a pseudonym (`user~…`) for readers who may not see people. */
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  occurredAt: string;
}

export interface AuditPage {
  items: AuditEvent[];
  nextAfter: number | null;
  pseudonymised: boolean;
}

/** The audit filters as the query API names them (docs/admin/audit-events.md). */
export interface AuditFilters {
  type?: string;
  category?: string;
  outcome?: string;
  actor?: string;
  from?: string;
  to?: string;
  workspace?: string;
  ip?: string;
}
