import { CausewayError } from '@causeway/contracts';

/**
 * A node's error as the HTTP caller should see it. The bridge carries a code and a message only
 * (no details), so the two file-specific answers are recognised by code: the only
 * `payload_too_large` a file call gets is the workspace quota, and a `validation_failed` of a
 * ranged download is its range.
 */
export function fromNode(error: unknown, call: { ranged?: boolean } = {}): unknown {
  if (!(error instanceof CausewayError)) return error;
  if (error.code === 'payload_too_large') {
    return new CausewayError('quota_exceeded', error.message, { reason: 'quota_exceeded' });
  }
  if (error.code === 'validation_failed' && call.ranged) {
    return new CausewayError('range_not_satisfiable', error.message);
  }
  return error;
}

/** Whether `folder` is `scope` or lies below it (both canonical). */
export function insideFolder(folder: string, scope: string): boolean {
  return scope === '/' || folder === scope || folder.startsWith(`${scope}/`);
}
