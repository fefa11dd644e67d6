import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { DataStore, Upload } from '@tus/utils';
import { Server } from '@tus/server';
import { CausewayError, ERROR_CATALOGUE, MAX_FILE_SIZE } from '@causeway/contracts';
import { asCausewayError } from '../common/domain-errors';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { FileStreams } from './file-streams';
import { FilesRepository, type HostedWorkspace, type UploadRecord } from './files.repository';
import { FilesService, type FileCaller } from './files.service';
import { UploadLocks } from './upload-locker';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a tus request is about: set around `handle`, read by the data store. */
interface UploadContext extends FileCaller {
  workspace: HostedWorkspace;
}

/**
 * How long an upload may stay unfinished: the node drops it after this too, and the
 * housekeeping sweep deletes its record.
 */
export const UPLOAD_LIFETIME_MS = 7 * 24 * 3600 * 1000;

/** Header of the last tus answer of an upload: the id of the file it became. */
export const UPLOAD_FILE_ID_HEADER = 'Upload-File-Id';

/**
 * The tus data store: the control plane keeps the upload's metadata (table `uploads`) and relays
 * each PATCH body to the node as one part, over a bridge stream. Offsets are the node's.
 */
class RelayStore extends DataStore {
  constructor(private readonly uploads: UploadsService) {
    super();
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration'];
  }

  override remove(id: string): Promise<void> {
    return this.uploads.remove(id);
  }

  /** tus answers `Upload-Expires`, and 410 for an upload past it. */
  override getExpiration(): number {
    return UPLOAD_LIFETIME_MS;
  }

  override deleteExpired(): Promise<number> {
    return this.uploads.deleteExpired();
  }

  override create(upload: Upload): Promise<Upload> {
    return this.uploads.create(upload);
  }

  override write(stream: Readable, id: string, offset: number): Promise<number> {
    return this.uploads.write(stream, id, offset);
  }

  override getUpload(id: string): Promise<Upload> {
    return this.uploads.get(id);
  }
}

/**
 * Resumable uploads with the tus protocol (creation extension), relayed to the workspace's node.
 * A tus request runs inside `handle`, which records the caller and the workspace of the URL;
 * an upload is found only in that workspace and the caller's tenant.
 */
@Injectable()
export class UploadsService {
  private readonly context = new AsyncLocalStorage<UploadContext>();
  private readonly tus: Server;
  private readonly bridgeTimeoutMs: number;

  constructor(
    private readonly files: FilesService,
    private readonly repository: FilesRepository,
    private readonly streams: FileStreams,
    @Inject(CONFIG) config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    locks: UploadLocks,
    private readonly clock: Clock,
  ) {
    logger.setContext('UploadsService');
    this.bridgeTimeoutMs = config.bridgeTimeoutMs;
    this.tus = new Server({
      path: '/api/v1/workspaces/uploads',
      datastore: new RelayStore(this),
      // One writer per upload across all control-plane instances (PostgreSQL advisory locks).
      locker: locks.locker,
      maxSize: MAX_FILE_SIZE,
      namingFunction: () => randomUUID(),
      // Relative: the upload URL is the creation URL plus the id, whatever the Host header says.
      generateUrl: (req, { id }) => `${new URL(req.url).pathname.replace(/\/+$/, '')}/${id}`,
      getFileIdFromRequest: (_req, lastPath) =>
        lastPath !== undefined && UUID.test(lastPath) ? lastPath.toLowerCase() : undefined,
      allowedOrigins: [new URL(config.publicUrl).origin],
      allowedCredentials: true,
      exposedHeaders: [UPLOAD_FILE_ID_HEADER],
      onUploadFinish: async (_req, upload) => {
        const fileId = await this.complete(upload.id);
        return { headers: { [UPLOAD_FILE_ID_HEADER]: fileId } };
      },
      onResponseError: (_req, error) => this.answer(error),
    });
  }

  /** Serves one tus request for a workspace the guard let the caller write to. */
  async handle(
    caller: FileCaller,
    workspaceId: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const workspace = await this.files.workspace(caller, workspaceId);
    await this.context.run({ ...caller, workspace }, () => this.tus.handle(req, res));
  }

  private current(): UploadContext {
    const context = this.context.getStore();
    if (!context) throw new Error('a tus request outside UploadsService.handle');
    return context;
  }

  private async record(id: string): Promise<UploadRecord> {
    const { workspace } = this.current();
    const upload = UUID.test(id) ? await this.repository.findUpload(workspace, id) : null;
    if (!upload) {
      throw new CausewayError('not_found', 'No upload with this id exists in this workspace.');
    }
    return upload;
  }

  async create(upload: Upload): Promise<Upload> {
    const context = this.current();
    const { workspace } = context;
    if (upload.size === undefined) {
      throw new CausewayError('validation_failed', 'Give the size: Upload-Length is required.');
    }
    const name = upload.metadata?.['filename'] ?? upload.metadata?.['name'];
    if (typeof name !== 'string' || name === '') {
      throw new CausewayError(
        'validation_failed',
        'Name the file: Upload-Metadata must carry "filename".',
      );
    }
    const folder = upload.metadata?.['folder'] ?? '/';
    if (typeof folder !== 'string' || !folder.startsWith('/')) {
      throw new CausewayError('validation_failed', 'The folder must be a path such as /reports.');
    }
    this.files.assertMayUse(context, workspace, folder, 'files.write');
    const started = await this.files.call(context, workspace, 'files.upload.start', {
      workspaceId: workspace.id,
      tenantId: workspace.tenantId,
      uploadId: upload.id,
      folder,
      name,
      size: upload.size,
    });
    await this.repository.insertUpload({
      id: upload.id,
      workspaceId: workspace.id,
      tenantId: workspace.tenantId,
      nodeId: workspace.nodeId,
      folder,
      name,
      size: upload.size,
      offset: started.received,
      createdBy: context.principal.subject,
    });
    upload.offset = started.received;
    upload.creation_date = new Date().toISOString();
    return upload;
  }

  /**
   * Sends one PATCH body to the node as the next part: the node is told to expect a stream,
   * then the body is streamed (bounded by the stream window). A part that fails leaves nothing on
   * the node, so the offset is then what the node says it holds.
   */
  async write(body: Readable, id: string, offset: number): Promise<number> {
    const context = this.current();
    const upload = await this.record(id);
    if (upload.fileId !== null) {
      throw new CausewayError('conflict', 'This upload is already complete.');
    }
    const streamId = randomUUID();
    await this.files.call(context, context.workspace, 'files.upload.part', {
      uploadId: id,
      offset,
      streamId,
      from: this.streams.instanceId,
    });
    let received: number;
    try {
      const result = await this.streams.sender.send({
        streamId,
        to: upload.nodeId,
        source: body,
      });
      received = offset + result.size;
    } catch (error) {
      const status = await this.files
        .call(context, context.workspace, 'files.upload.status', { uploadId: id })
        .catch(() => undefined);
      this.logger.warn(
        { uploadId: id, streamId, err: error, received: status?.received },
        'upload part failed',
      );
      if (!status || status.received === offset) throw error;
      received = status.received;
    }
    await this.repository.recordOffset(upload, received);
    return received;
  }

  /** The offset is the node's; a finished upload is answered from the record. */
  async get(id: string): Promise<Upload> {
    const context = this.current();
    const upload = await this.record(id);
    let offset = upload.size;
    if (upload.fileId === null) {
      const status = await this.files.call(context, context.workspace, 'files.upload.status', {
        uploadId: id,
      });
      offset = status.received;
      // A full upload whose completion did not get through (the last PATCH's answer was lost).
      if (offset === upload.size) await this.complete(id);
    }
    return new Upload({
      id,
      size: upload.size,
      offset,
      metadata: { filename: upload.name, folder: upload.folder },
      creation_date: upload.createdAt.toISOString(),
    });
  }

  /**
   * tus termination: the node drops the unfinished upload (its parts' keys, objects and rows, and
   * the quota it reserved), then its record goes. A finished upload is a file and stays.
   */
  async remove(id: string): Promise<void> {
    const context = this.current();
    const upload = await this.record(id);
    if (upload.fileId !== null) {
      throw new CausewayError(
        'conflict',
        `This upload is finished: it became file ${upload.fileId}, which stays. Delete the file instead.`,
        { reason: 'upload_complete', fileId: upload.fileId },
      );
    }
    this.files.assertMayUse(context, context.workspace, upload.folder, 'files.write');
    const { dropped } = await this.files.call(context, context.workspace, 'files.upload.abort', {
      uploadId: id,
    });
    await this.repository.deleteUpload(upload);
    this.logger.info({ uploadId: id, dropped }, 'upload terminated');
    await this.files.record(context, context.workspace, 'data.upload.cancelled', {
      uploadId: id,
      folder: upload.folder,
      name: upload.name,
      size: upload.size,
      dropped,
    });
  }

  /** Deletes the records of uploads past their expiry (the node drops their bytes itself). */
  deleteExpired(): Promise<number> {
    return this.repository.deleteExpiredUploads(this.clock.now());
  }

  /** Turns the fully received upload into a file (idempotent on the node). */
  private async complete(id: string): Promise<string> {
    const context = this.current();
    const upload = await this.record(id);
    if (upload.fileId !== null) return upload.fileId;
    // The node usually has the file's SHA-256 already (hashed as the parts arrived); after a
    // node restart during the upload it reads the whole file back to compute it before it
    // answers: allow for that (at a pessimistic 16 MiB/s) on top of the usual bridge timeout.
    const file = await this.files.call(
      context,
      context.workspace,
      'files.upload.complete',
      { uploadId: id },
      { timeoutMs: this.bridgeTimeoutMs + Math.ceil(upload.size / (16 * 1024 * 1024)) * 1000 },
    );
    await this.repository.recordCompleted(upload, file.fileId);
    await this.files.record(context, context.workspace, 'data.file.uploaded', {
      fileId: file.fileId,
      folder: file.folder,
      name: file.name,
      version: file.version,
      bytes: file.size,
      sha256: file.sha256,
    });
    this.logger.info(
      { uploadId: id, fileId: file.fileId, version: file.version, size: file.size },
      'upload completed',
    );
    return file.fileId;
  }

  /** Typed errors keep their code and sentence; anything unexpected shows only an error id. */
  private answer(
    error: Error | { status_code: number; body: string },
  ): { status_code: number; body: string } | undefined {
    const requestId = this.context.getStore()?.requestId ?? 'unknown';
    const typed = asCausewayError(error);
    if (typed) {
      return {
        status_code: typed.status,
        body: JSON.stringify({
          code: typed.code,
          message: typed.message,
          ...(typed.details ? { details: typed.details } : {}),
          requestId,
        }),
      };
    }
    if ('status_code' in error && error.status_code < 500) return undefined;
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId, requestId }, 'tus request failed');
    return {
      status_code: 500,
      body: JSON.stringify({
        code: 'internal_error',
        message: `${ERROR_CATALOGUE.internal_error.message} Quote error id ${errorId}.`,
        requestId,
        errorId,
      }),
    };
  }
}
