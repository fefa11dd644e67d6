import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import {
  CausewayError,
  type BridgeMethod,
  type MethodPayload,
  type MethodResult,
  type Permission,
} from '@causeway/contracts';
import { StreamError, type StreamSink } from '@causeway/bridge';
import type { AuditEventType } from '@causeway/audit';
import { AuditService, type AuditDetails } from '../audit/audit.service';
import { canonicalFolder } from '../access/grants';
import type { Principal } from '../access/principal';
import { NodeRpc } from '../bridge/node-rpc';
import { FileStreams } from './file-streams';
import { fromNode, insideFolder } from './files.errors';
import { FilesRepository, type HostedWorkspace } from './files.repository';
import { attachmentDisposition, parseRange } from './range';

/** Who is asking, for which request: becomes the delegation sent to the node. */
export interface FileCaller {
  principal: Principal;
  requestId: string;
  /** The client address, for the audit trail. */
  ip?: string | null;
}

export type FileView = MethodResult<'files.stat'>;

/** How long a download waits for the node's first chunk. */
const DOWNLOAD_IDLE_MS = 30_000;

/**
 * Workspace files, relayed to the node that hosts the workspace. The control plane keeps no
 * file data: metadata calls go through NodeRpc with the caller's delegation, bytes through bridge
 * streams, never more than a stream window of them in memory.
 */
@Injectable()
export class FilesService {
  constructor(
    private readonly repository: FilesRepository,
    private readonly rpc: NodeRpc,
    private readonly streams: FileStreams,
    private readonly audit: AuditService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('FilesService');
  }

  /**
   * Records a file action in the tenant's audit trail. Part of the action: if the event cannot
   * be written the request fails (for a download, before its first byte).
   */
  record(
    caller: FileCaller,
    workspace: HostedWorkspace,
    type: AuditEventType,
    details: AuditDetails,
    failure?: string,
  ): Promise<void> {
    return this.audit.record({
      tenantId: workspace.tenantId,
      type,
      outcome: failure === undefined ? 'success' : 'failure',
      actor: caller.principal.subject,
      reason: failure ?? null,
      ip: caller.ip ?? null,
      details: { workspaceId: workspace.id, ...details },
    });
  }

  /** The caller's workspace, ready, in their tenant (the guard has already checked the tenant). */
  async workspace(caller: FileCaller, workspaceId: string): Promise<HostedWorkspace> {
    const scope =
      caller.principal.kind === 'user'
        ? { tenantId: caller.principal.access.tenantId }
        : 'platform';
    const workspace = await this.repository.workspace(scope, workspaceId);
    if (!workspace) throw new CausewayError('not_found', 'This workspace does not exist.');
    if (workspace.state !== 'ready') {
      throw new CausewayError(
        'conflict',
        `The workspace is not ready for files (it is ${workspace.state}).`,
      );
    }
    return workspace;
  }

  /** Calls the workspace's node on the caller's behalf, mapping its errors for HTTP. */
  async call<M extends BridgeMethod>(
    caller: FileCaller,
    workspace: HostedWorkspace,
    method: M,
    payload: MethodPayload<M>,
    mapping: { timeoutMs?: number } = {},
  ): Promise<MethodResult<M>> {
    try {
      return await this.rpc.call(
        { id: workspace.nodeId, tenantId: workspace.tenantId },
        method,
        payload,
        {
          requestId: caller.requestId,
          subject: caller.principal.subject,
          workspaceId: workspace.id,
          ...(mapping.timeoutMs === undefined ? {} : { timeoutMs: mapping.timeoutMs }),
        },
      );
    } catch (error) {
      throw fromNode(error);
    }
  }

  /**
   * A user whose role is on a folder reaches the file routes with `?folder=`; the file must then
   * lie in that folder, or it is answered like a missing one.
   */
  private assertInScope(file: FileView, folderQuery: string | undefined): void {
    if (folderQuery === undefined) return;
    const scope = canonicalFolder(folderQuery);
    if (scope === undefined || !insideFolder(file.folder, scope)) {
      throw new CausewayError('not_found', 'No file with this id exists in this workspace.');
    }
  }

  /** A caller restricted to folders may act only inside those it holds the permission on. */
  assertMayUse(
    caller: FileCaller,
    workspace: HostedWorkspace,
    folder: string,
    permission: Permission,
  ): void {
    if (caller.principal.kind !== 'user') return;
    if (!caller.principal.access.can(permission, { workspaceId: workspace.id, folder })) {
      throw new CausewayError('forbidden', `You need the "${permission}" permission on ${folder}.`);
    }
  }

  async list(caller: FileCaller, workspaceId: string, folderQuery: string | undefined) {
    const folder = folderQuery === undefined ? '/' : canonicalFolder(folderQuery);
    if (folder === undefined)
      throw new CausewayError('validation_failed', 'The folder is not a valid path.');
    const workspace = await this.workspace(caller, workspaceId);
    return this.call(caller, workspace, 'files.list', { workspaceId, folder });
  }

  async stat(caller: FileCaller, workspaceId: string, fileId: string, folderQuery?: string) {
    const workspace = await this.workspace(caller, workspaceId);
    const file = await this.call(caller, workspace, 'files.stat', { workspaceId, fileId });
    this.assertInScope(file, folderQuery);
    return { workspace, file };
  }

  async versions(caller: FileCaller, workspaceId: string, fileId: string, folderQuery?: string) {
    const { workspace } = await this.stat(caller, workspaceId, fileId, folderQuery);
    return this.call(caller, workspace, 'files.versions', { workspaceId, fileId });
  }

  async update(
    caller: FileCaller,
    workspaceId: string,
    fileId: string,
    change: { name?: string | undefined; folder?: string | undefined },
    folderQuery?: string,
  ): Promise<FileView> {
    const { workspace, file } = await this.stat(caller, workspaceId, fileId, folderQuery);
    let view = file;
    const from = { folder: file.folder, name: file.name };
    if (change.folder !== undefined && change.folder !== view.folder) {
      this.assertMayUse(caller, workspace, change.folder, 'files.write');
    }
    if (change.name !== undefined && change.name !== view.name) {
      view = await this.call(caller, workspace, 'files.rename', {
        workspaceId,
        fileId,
        name: change.name,
      });
      await this.record(caller, workspace, 'data.file.renamed', {
        fileId,
        folder: view.folder,
        from: from.name,
        name: view.name,
      });
    }
    if (change.folder !== undefined && change.folder !== view.folder) {
      view = await this.call(caller, workspace, 'files.move', {
        workspaceId,
        fileId,
        folder: change.folder,
      });
      await this.record(caller, workspace, 'data.file.moved', {
        fileId,
        name: view.name,
        from: from.folder,
        folder: view.folder,
      });
    }
    return view;
  }

  async remove(caller: FileCaller, workspaceId: string, fileId: string, folderQuery?: string) {
    const { workspace, file } = await this.stat(caller, workspaceId, fileId, folderQuery);
    const deleted = await this.call(caller, workspace, 'files.delete', { workspaceId, fileId });
    await this.record(caller, workspace, 'data.file.deleted', {
      fileId,
      folder: file.folder,
      name: file.name,
      versions: deleted.versionsDeleted,
    });
    return deleted;
  }

  /**
   * Streams a file (or one byte range of it) from the node into the HTTP response. The headers
   * go out once the node said what the stream carries; each chunk is written with back-pressure,
   * so at most the receiver's window is in memory. A stream that fails after the headers
   * destroys the response: the client sees a broken download, never wrong bytes.
   */
  async download(
    caller: FileCaller,
    workspaceId: string,
    fileId: string,
    request: {
      version?: number | undefined;
      range?: string | undefined;
      folder?: string | undefined;
    },
    res: ServerResponse,
  ): Promise<void> {
    const { workspace, file } = await this.stat(caller, workspaceId, fileId, request.folder);
    let total = file.size;
    if (request.version !== undefined && request.version !== file.version) {
      const { versions } = await this.call(caller, workspace, 'files.versions', {
        workspaceId,
        fileId,
      });
      const version = versions.find((v) => v.version === request.version);
      if (!version)
        throw new CausewayError('not_found', `This file has no version ${request.version}.`);
      total = version.size;
    }
    const range = parseRange(request.range, total);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${total}`);
      throw new CausewayError('range_not_satisfiable', `The file has ${total} bytes.`, {
        size: total,
      });
    }

    const streamId = randomUUID();
    let release!: () => void;
    let refuse!: (error: Error) => void;
    const headersSent = new Promise<void>((resolve, reject) => {
      release = resolve;
      refuse = reject;
    });
    headersSent.catch(() => undefined);
    const sink: StreamSink = {
      open: () => Promise.resolve({ size: 0 }),
      write: async ({ bytes }) => {
        await headersSent;
        await writeWithBackpressure(res, bytes);
      },
      finish: () =>
        new Promise<void>((resolve) => {
          res.end(resolve);
        }),
      abort: () => {
        res.destroy();
        return Promise.resolve();
      },
    };
    const receiving = this.streams.receiver.accept({
      streamId,
      from: workspace.nodeId,
      sink,
      idleTimeoutMs: DOWNLOAD_IDLE_MS,
    });
    let started: MethodResult<'files.download'>;
    try {
      started = await this.call(caller, workspace, 'files.download', {
        workspaceId,
        fileId,
        ...(request.version === undefined ? {} : { version: request.version }),
        ...(range ? { range } : {}),
        streamId,
        to: this.streams.instanceId,
      });
    } catch (error) {
      // The stream never starts; the receiver gives it up after its idle timeout.
      refuse(new Error('the download did not start'));
      receiving.catch(() => undefined);
      throw error;
    }
    const recorded: AuditDetails = {
      fileId,
      folder: file.folder,
      name: file.name,
      version: request.version ?? file.version,
      bytes: started.size,
      range: range ? `${range.start}-${range.end}` : null,
    };
    try {
      await this.record(caller, workspace, 'data.file.downloaded', recorded);
    } catch (error) {
      refuse(new Error('the download could not be recorded'));
      receiving.catch(() => undefined);
      throw error;
    }
    res.statusCode = range ? 206 : 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(started.size));
    res.setHeader('Content-Disposition', attachmentDisposition(file.name));
    res.setHeader('ETag', `"${started.sha256}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (range)
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${started.totalSize}`);
    res.flushHeaders();
    release();
    res.once('close', () => {
      if (!res.writableFinished)
        this.logger.info({ fileId, streamId }, 'download closed by the client');
    });
    try {
      await receiving;
    } catch (error) {
      this.logger.warn(
        { fileId, streamId, err: error },
        'download stream failed; response destroyed',
      );
      res.destroy();
      const reason = streamFailure(error);
      await this.record(caller, workspace, 'data.file.download_failed', recorded, reason).catch(
        (auditError: unknown) =>
          this.logger.error({ fileId, err: auditError }, 'a failed download was not recorded'),
      );
    }
  }
}

/** Writes one chunk and waits for the socket to drain when its buffer is full. */
function writeWithBackpressure(res: ServerResponse, bytes: Buffer): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error('the client closed the download'));
  if (res.write(bytes)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new Error('the client closed the download'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** A machine-readable reason for a download that stopped: the stream's error code. */
function streamFailure(error: unknown): string {
  return error instanceof StreamError ? error.code : 'stream_failed';
}
