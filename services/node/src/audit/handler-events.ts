import type { Handler, HandlerContext, HandlerMap } from '@causeway/bridge';
import {
  CausewayError,
  type BridgeMethod,
  type MethodPayload,
  type MethodResult,
} from '@causeway/contracts';
import type { NodeAudit, NodeAuditCode } from './node-audit';

type Fields = Record<string, string | number | boolean | null>;

interface MethodEvent<M extends BridgeMethod> {
  /** Recorded in the node's chain when the handler succeeded. */
  code: NodeAuditCode;
  /** When the outcome decides the event (a resumed rather than a new upload). */
  codeFor?: (payload: MethodPayload<M>, result: MethodResult<M>) => NodeAuditCode;
  fields?: (payload: MethodPayload<M>, result: MethodResult<M>) => Fields;
}

type FileView = MethodResult<'files.stat'>;

function fileView(file: FileView): Fields {
  return {
    workspaceId: file.workspaceId,
    fileId: file.fileId,
    folder: file.folder,
    name: file.name,
    version: file.version,
  };
}

/**
 * The event each bridge method records on the node, where the action happens: every method
 * is listed (the type makes a new method without an entry a compile error); null where the
 * handler records its own, more precise events.
 */
export const HANDLER_EVENTS: { [M in BridgeMethod]: MethodEvent<M> | null } = {
  ping: { code: 'node.pinged' },
  'node.info': { code: 'node.info_read', fields: (_p, r) => ({ workspaces: r.workspaces }) },
  'workspace.provision': {
    code: 'workspace.provisioned',
    fields: (p) => ({ workspaceId: p.workspaceId, name: p.name }),
  },
  'workspace.delete': {
    code: 'workspace.deleted',
    fields: (p, r) => ({
      workspaceId: p.workspaceId,
      keysDestroyed: r.keysDestroyed,
      objectsDeleted: r.objectsDeleted,
    }),
  },
  'workspace.quota.set': {
    code: 'workspace.quota_set',
    fields: (p, r) => ({
      workspaceId: p.workspaceId,
      quotaBytes: r.quotaBytes,
      usedBytes: r.usedBytes,
    }),
  },
  'files.upload.start': {
    code: 'data.upload.started',
    codeFor: (_p, r) => (r.received > 0 ? 'data.upload.resumed' : 'data.upload.started'),
    fields: (p, r) => ({
      workspaceId: p.workspaceId,
      uploadId: p.uploadId,
      folder: p.folder,
      name: p.name,
      size: p.size,
      received: r.received,
    }),
  },
  'files.upload.part': {
    code: 'data.upload.part_received',
    fields: (p) => ({ uploadId: p.uploadId, offset: p.offset }),
  },
  'files.upload.status': {
    code: 'data.upload.status_read',
    fields: (p, r) => ({ uploadId: p.uploadId, received: r.received, size: r.size }),
  },
  'files.upload.complete': {
    code: 'data.file.uploaded',
    fields: (p, r) => ({ ...fileView(r), uploadId: p.uploadId, bytes: r.size, sha256: r.sha256 }),
  },
  'files.upload.abort': {
    code: 'data.upload.cancelled',
    fields: (p, r) => ({ uploadId: p.uploadId, dropped: r.dropped }),
  },
  'files.list': {
    code: 'data.file.listed',
    fields: (p, r) => ({ workspaceId: p.workspaceId, folder: p.folder, count: r.items.length }),
  },
  'files.stat': { code: 'data.file.metadata_read', fields: (_p, r) => fileView(r) },
  'files.versions': {
    code: 'data.file.versions_listed',
    fields: (p, r) => ({
      workspaceId: p.workspaceId,
      fileId: p.fileId,
      versions: r.versions.length,
    }),
  },
  'files.rename': { code: 'data.file.renamed', fields: (_p, r) => fileView(r) },
  'files.move': { code: 'data.file.moved', fields: (_p, r) => fileView(r) },
  'files.delete': {
    code: 'data.file.deleted',
    fields: (p, r) => ({
      workspaceId: p.workspaceId,
      fileId: p.fileId,
      versions: r.versionsDeleted,
    }),
  },
  'files.download': {
    code: 'data.file.downloaded',
    fields: (p, r) => ({
      workspaceId: p.workspaceId,
      fileId: p.fileId,
      version: p.version ?? null,
      range: p.range ? `${p.range.start}-${p.range.end}` : null,
      bytes: r.size,
      size: r.totalSize,
    }),
  },
  'keys.rotate': {
    code: 'key.rotation_requested',
    fields: (p) => ({ workspaceId: p.workspaceId, jobId: p.jobId }),
  },
  'keys.status': { code: 'key.status_read', fields: (p) => ({ workspaceId: p.workspaceId }) },
  // The handler records key.rotation_period_changed when the policy changes.
  'keys.policy.set': null,
  // The handler records trust.keys_updated or trust.keys_refused.
  'trust.update': null,
};

/** Ids a failed request names, so a refusal can be traced to its workspace, file or upload. */
function named(payload: unknown): Fields {
  const out: Fields = {};
  if (typeof payload !== 'object' || payload === null) return out;
  const record = payload as Record<string, unknown>;
  for (const key of ['workspaceId', 'fileId', 'uploadId'] as const) {
    const value = record[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

function callerOf(context: HandlerContext): Fields {
  return {
    subject: context.principal?.subject ?? null,
    tenantId: context.principal?.tenantId ?? null,
    requestId: context.requestId,
  };
}

function audited<M extends BridgeMethod>(
  audit: Pick<NodeAudit, 'record'>,
  method: M,
  handler: Handler<M>,
): Handler<M> {
  const event = HANDLER_EVENTS[method];
  return async (payload, context) => {
    let result: MethodResult<M>;
    try {
      result = await handler(payload, context);
    } catch (error) {
      const errorCode = error instanceof CausewayError ? error.code : 'internal_error';
      const quota =
        error instanceof CausewayError && error.details?.['reason'] === 'quota_exceeded';
      audit.record(
        quota
          ? {
              code: 'data.upload.quota_exceeded',
              fields: { ...callerOf(context), ...named(payload), reason: 'quota_exceeded' },
            }
          : {
              code: 'node.request.failed',
              fields: { ...callerOf(context), ...named(payload), method, errorCode },
            },
      );
      throw error;
    }
    if (event) {
      audit.record({
        code: event.codeFor?.(payload, result) ?? event.code,
        fields: { ...callerOf(context), ...(event.fields?.(payload, result) ?? {}) },
      });
    }
    return result;
  };
}

/**
 * Wraps every handler so that the node records, in its own hash-chained trail, each request it
 * served (with who asked, from the verified delegation) and each one it could not.
 */
export function auditedHandlers(
  audit: Pick<NodeAudit, 'record'>,
  handlers: HandlerMap,
): HandlerMap {
  const out: Record<string, unknown> = {};
  for (const method of Object.keys(handlers) as BridgeMethod[]) {
    const handler = handlers[method];
    if (handler) out[method] = audited(audit, method, handler);
  }
  return out;
}
