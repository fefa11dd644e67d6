import { ApiError, toApiError, type Action } from './errors';
import type {
  FileList,
  FileVersion,
  FileView,
  Me,
  SignInAnswer,
  SignInMethods,
  TotpSetup,
  Workspace,
} from './types';

/**
 * The console's only way to the server: the public REST API under /api/v1, on the origin that
 * served the page, with the session cookie (HttpOnly, so the console never sees it).
 */
const BASE = '/api/v1';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T>(
  method: Method,
  path: string,
  action: Action,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(
      0,
      'network_error',
      'The server could not be reached. Check your connection and try again.',
      undefined,
      undefined,
    );
  }
  const text = await res.text();
  if (!res.ok) throw toApiError(res.status, text, action);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

const seg = encodeURIComponent;

/** `?folder=…`: the folder listed, or for one file the folder it lies in (folder-scoped roles). */
function folderQuery(folder: string, extra: Record<string, string> = {}): string {
  return `?${new URLSearchParams({ folder, ...extra }).toString()}`;
}

export const api = {
  methods: (tenant: string) =>
    request<SignInMethods>('GET', `/auth/${seg(tenant)}/methods`, 'sign-in'),
  startEmailCode: (tenant: string, email: string) =>
    request<{ expiresAt: string }>('POST', `/auth/${seg(tenant)}/email/start`, 'sign-in', {
      email,
    }),
  verifyEmailCode: (tenant: string, email: string, code: string) =>
    request<SignInAnswer>('POST', `/auth/${seg(tenant)}/email/verify`, 'sign-in', {
      email,
      code,
    }),
  signInWithPassword: (tenant: string, email: string, password: string) =>
    request<SignInAnswer>('POST', `/auth/${seg(tenant)}/password`, 'sign-in', {
      email,
      password,
    }),
  confirmSecondFactor: (proof: { code: string } | { recoveryCode: string }) =>
    request<SignInAnswer>('POST', '/auth/second-factor', 'second-factor', proof),
  startTotpSetup: () => request<TotpSetup>('POST', '/me/second-factor/totp', 'second-factor'),
  confirmTotpSetup: (code: string) =>
    request<{ recoveryCodes: string[] }>(
      'POST',
      '/me/second-factor/totp/confirm',
      'second-factor',
      { code },
    ),
  me: () => request<Me>('GET', '/me', 'load'),
  signOut: () => request<void>('POST', '/auth/logout', 'load'),

  workspaces: (tenant: string) =>
    request<{ items: Workspace[] }>('GET', `/tenants/${seg(tenant)}/workspaces`, 'load'),
  workspace: (tenant: string, ws: string) =>
    request<Workspace>('GET', `/tenants/${seg(tenant)}/workspaces/${seg(ws)}`, 'load'),
  listFiles: (ws: string, folder: string) =>
    request<FileList>('GET', `/workspaces/${seg(ws)}/files${folderQuery(folder)}`, 'load'),
  versions: (file: FileView) =>
    request<{ versions: FileVersion[] }>(
      'GET',
      `/workspaces/${seg(file.workspaceId)}/files/${seg(file.fileId)}/versions${folderQuery(file.folder)}`,
      'load',
    ),
  rename: (file: FileView, name: string) =>
    request<FileView>(
      'PATCH',
      `/workspaces/${seg(file.workspaceId)}/files/${seg(file.fileId)}${folderQuery(file.folder)}`,
      'rename',
      { name },
    ),
  move: (file: FileView, folder: string) =>
    request<FileView>(
      'PATCH',
      `/workspaces/${seg(file.workspaceId)}/files/${seg(file.fileId)}${folderQuery(file.folder)}`,
      'move',
      { folder },
    ),
  remove: (file: FileView) =>
    request<void>(
      'DELETE',
      `/workspaces/${seg(file.workspaceId)}/files/${seg(file.fileId)}${folderQuery(file.folder)}`,
      'delete',
    ),
};

/** A plain link: the browser downloads it itself (Content-Disposition: attachment). */
export function contentUrl(file: FileView, version?: number): string {
  const extra: Record<string, string> = version === undefined ? {} : { version: String(version) };
  return `${BASE}/workspaces/${seg(file.workspaceId)}/files/${seg(file.fileId)}/content${folderQuery(file.folder, extra)}`;
}

/** The tus endpoint, absolute because tus-js-client resolves the upload URLs against it. */
export function uploadsEndpoint(ws: string): string {
  return new URL(`${BASE}/workspaces/${seg(ws)}/uploads`, window.location.href).href;
}
