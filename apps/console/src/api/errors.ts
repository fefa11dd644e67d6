import type { ApiErrorBody } from './types';

/** What the person was doing, so that one error code can be explained in its context. */
export type Action =
  'sign-in' | 'load' | 'upload' | 'download' | 'rename' | 'move' | 'delete' | 'second-factor';

/** An answer of the API that was not a success, with a sentence a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    /** The sentence to show. */
    message: string,
    readonly requestId: string | undefined,
    readonly details: Record<string, unknown> | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The session is gone: the console sends the person back to the sign-in page. */
  get signedOut(): boolean {
    return this.status === 401 && this.code !== 'sign_in_failed';
  }
}

/** Reads an error body if there is one; a proxy's HTML page or an empty body gives undefined. */
export function parseErrorBody(text: string): ApiErrorBody | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    if (
      typeof body === 'object' &&
      body !== null &&
      typeof (body as ApiErrorBody).code === 'string' &&
      typeof (body as ApiErrorBody).message === 'string'
    ) {
      return body as ApiErrorBody;
    }
  } catch {
    // Not JSON: described by its status below.
  }
  return undefined;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function numberDetail(details: Record<string, unknown> | undefined, key: string) {
  const value = details?.[key];
  return typeof value === 'number' ? value : undefined;
}

/**
 * The sentence shown for an error. The API's own message is written for people and is kept
 * where it says the most (a refused name says which rule it broke); codes whose message is
 * generic get a sentence that says what to do in the console.
 */
export function describeError(
  status: number,
  body: ApiErrorBody | undefined,
  action: Action,
): string {
  const code = body?.code ?? '';
  const reason = typeof body?.details?.['reason'] === 'string' ? body.details['reason'] : '';
  switch (code) {
    case 'quota_exceeded': {
      const quota = numberDetail(body?.details, 'quotaBytes');
      const used = numberDetail(body?.details, 'usedBytes');
      const size = numberDetail(body?.details, 'size');
      const facts =
        quota !== undefined && used !== undefined
          ? ` ${formatBytes(Math.max(quota - used, 0))} of ${formatBytes(quota)} is free` +
            (size !== undefined ? ` and the file is ${formatBytes(size)}.` : '.')
          : '';
      return `This file does not fit in the workspace's storage quota.${facts} Delete files you no longer need, or ask the workspace's administrator for more room. Nothing was stored.`;
    }
    case 'validation_failed':
      if (action === 'rename' || action === 'upload' || action === 'move') {
        // The API names the rule that was broken; without a sentence, list them all.
        return `That name is not allowed: ${
          body?.message ??
          'names cannot contain / or \\, cannot be "." or "..", and have at most 255 bytes.'
        }`;
      }
      return body?.message ?? 'The request is not valid.';
    case 'forbidden':
      return action === 'upload' || action === 'rename' || action === 'move' || action === 'delete'
        ? 'Your role in this workspace does not allow this: a partner viewer can list and download files, a partner editor can also upload, rename, move and delete them. Ask your contact for another role.'
        : 'You do not have permission to do this. Ask your contact at the company if you think you should.';
    case 'not_found':
      return action === 'load'
        ? 'This workspace or folder was not found, or it is not shared with you (any more).'
        : 'This file was not found, or it is not shared with you. It may have been deleted or moved: the list has been refreshed.';
    case 'conflict':
      if (reason === 'upload_locked') {
        return 'Another upload of this file is still being written. Wait a moment and try again.';
      }
      return action === 'rename' || action === 'move'
        ? 'A file with that name already exists in that folder. Choose another name or folder.'
        : (body?.message ??
            'This conflicts with the current state of the workspace. Reload and try again.');
    case 'node_unavailable':
    case 'bridge_unavailable':
      return "The company's storage node is not reachable right now. Your files are safe; try again in a few minutes.";
    case 'session_expired':
    case 'unauthenticated':
      return 'Your session has ended. Sign in again.';
    case 'second_factor_required':
      return 'Confirm this sign-in with your authenticator app first.';
    case 'sign_in_failed':
      switch (reason) {
        case 'code_invalid':
          return 'That code is not right, or it was already used, or a newer one was sent. Use the code from the newest email.';
        case 'code_expired':
          return 'That code has expired. Ask for a new one.';
        case 'totp_invalid':
          return "That code from your app is not right. Check that your phone's clock is set automatically.";
        case 'totp_replayed':
          return 'That app code was already used. Wait for the next one.';
        case 'recovery_code_invalid':
          return 'That recovery code is wrong or was already used.';
        case 'user_disabled':
          return "Your account is disabled. Ask the organisation's administrator.";
        default:
          return body?.message ?? 'Sign-in failed. Start again.';
      }
    case 'too_many_attempts':
      return 'Too many attempts. Wait a few minutes (up to 15, or an hour for new codes), then try again.';
    default:
      break;
  }
  if (body?.message) return body.message;
  if (status === 0) return 'The server could not be reached. Check your connection and try again.';
  if (status === 403) return 'You do not have permission to do this.';
  if (status === 404) return 'Not found, or not shared with you.';
  if (status === 413) return 'This file is too large for the workspace.';
  if (status >= 500) return 'Something went wrong on the server. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

export function toApiError(status: number, text: string, action: Action): ApiError {
  const body = parseErrorBody(text);
  return new ApiError(
    status,
    body?.code ?? `http_${status}`,
    describeError(status, body, action),
    body?.requestId,
    body?.details,
  );
}

/** The sentence for anything thrown: an ApiError's own, or a generic one. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'The server could not be reached. Check your connection and try again.';
}
