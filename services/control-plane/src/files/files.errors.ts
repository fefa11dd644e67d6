import { CausewayError } from '@causeway/contracts';

/**
 * A node's error as the HTTP caller should see it. The node's machine-readable `details` cross
 * the bridge, so the two file-specific answers are recognised by their `reason`, never guessed:
 * a workspace quota (`payload_too_large`, `reason: quota_exceeded`) is 413 `quota_exceeded`,
 * a range outside the file (`reason: range_not_satisfiable`) is 416.
 */
export function fromNode(error: unknown): unknown {
  if (!(error instanceof CausewayError)) return error;
  const reason = error.details?.['reason'];
  if (error.code === 'payload_too_large' && reason === 'quota_exceeded') {
    return new CausewayError('quota_exceeded', quotaSentence(error.details ?? {}), error.details);
  }
  if (reason === 'range_not_satisfiable') {
    return new CausewayError('range_not_satisfiable', error.message, error.details);
  }
  return error;
}

/** "The file (N bytes) does not fit…", with the numbers the node gave when it gave them. */
function quotaSentence(details: Record<string, unknown>): string {
  const { quotaBytes, usedBytes, size } = details;
  if (typeof quotaBytes !== 'number' || typeof usedBytes !== 'number' || typeof size !== 'number') {
    return "The file does not fit in the workspace's storage quota.";
  }
  const free = Math.max(0, quotaBytes - usedBytes);
  return `The file (${size} bytes) does not fit in the workspace's storage quota: ${usedBytes} of ${quotaBytes} bytes are in use (files and unfinished uploads), ${free} are free. Delete files or ask an administrator to raise the quota.`;
}

/** Whether `folder` is `scope` or lies below it (both canonical). */
export function insideFolder(folder: string, scope: string): boolean {
  return scope === '/' || folder === scope || folder.startsWith(`${scope}/`);
}
