/**
 * The shapes of the public API's answers that the console reads. They mirror the OpenAPI
 * document served at /api/docs; the console declares only the fields it uses, so a field the
 * API adds later does not break it.
 */

export interface SignInMethods {
  items: Array<{ id: string; kind: 'oidc' | 'saml'; name: string; loginUrl: string }>;
  emailCode: boolean;
  password: boolean;
}

export interface SignInAnswer {
  secondFactorRequired: boolean;
  recoveryCodesLeft?: number;
}

export interface Me {
  kind: 'user' | 'platform-operator';
  id?: string;
  tenantId?: string;
  email?: string;
  displayName?: string | null;
  authMethod?: string;
  secondFactor?: boolean;
  secondFactorRequired?: boolean;
  userKind?: 'member' | 'partner';
  roles?: Array<{ role: string; scope: unknown; via: string }>;
}

export interface Workspace {
  id: string;
  name: string;
  state: 'provisioning' | 'ready' | 'failed' | 'deleting';
  quotaBytes: number | null;
}

export interface FileView {
  fileId: string;
  workspaceId: string;
  folder: string;
  name: string;
  version: number;
  size: number;
  sha256: string;
  createdAt: string;
  updatedAt: string;
}

export interface FolderView {
  name: string;
  path: string;
}

export interface FileList {
  items: FileView[];
  folders: FolderView[];
}

export interface FileVersion {
  version: number;
  size: number;
  sha256: string;
  createdAt: string;
}

export interface TotpSetup {
  secret: string;
  otpauthUrl: string;
}

/** The error body every route answers with: `{ code, message, requestId, details? }`. */
export interface ApiErrorBody {
  code: string;
  message: string;
  requestId?: string;
  details?: Record<string, unknown>;
}
