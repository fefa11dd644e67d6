import { createHash, randomUUID, type Hash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { Inject, Injectable, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import type { HandlerMap, StreamReceiver, StreamSender } from '@causeway/bridge';
import {
  CausewayError,
  MAX_FILE_SIZE,
  type MethodPayload,
  type MethodResult,
  type Principal,
} from '@causeway/contracts';
import { ciphertextRangeFor, ciphertextSizeFor, createRangeDecryptStream } from '@causeway/crypto';
import { NodeAudit, type NodeAuditEvent } from '../audit/node-audit';
import { NodeKeys } from '../keys';
import { NodeStore } from '../state/node-store';
import { OBJECT_STORE, type ObjectStore } from '../storage';
import {
  FilesRepository,
  UPLOAD_VERSION,
  type FilePartRow,
  type FileRow,
  type UploadRow,
  type WorkspaceScopeRow,
} from './files.repository';
import { checkFileName, checkFolder } from './names';
import { PartSink } from './part-sink';

/** The bridge ends the files methods stream through (built and started by NodeBridge). */
export interface FileStreams {
  receiver: Pick<StreamReceiver, 'accept'>;
  sender: Pick<StreamSender, 'send'>;
}

type FileView = MethodResult<'files.stat'>;

/** Open uploads whose running whole-file SHA-256 the node keeps in memory (a few hundred bytes each). */
const MAX_RUNNING_HASHES = 10_000;

/** How long an upload may stay open. */
const UPLOAD_LIFETIME_MS = 7 * 24 * 3600 * 1000;

function notFound(): CausewayError {
  return new CausewayError('not_found', 'No such file or upload in this workspace.');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Workspace files on the node: resumable uploads in parts (each part its own envelope object
 * under its own data key), files with versions, and downloads (whole or by range) over bridge
 * streams. Plaintext never touches the disk. See docs/design/files.md.
 */
@Injectable()
export class FilesService implements OnApplicationBootstrap {
  private readonly repository: FilesRepository;
  /** The part being received per upload: one at a time, so the committed offset is exact. */
  private readonly activeParts = new Map<string, { streamId: string; done: Promise<void> }>();
  /**
   * The running whole-file SHA-256 of each open upload, over its first `bytes` bytes: advanced
   * only with committed parts, so completion need not read the file back. In memory only: after
   * a restart an upload has none, and its completion reads the file back to hash it.
   */
  private readonly fileHashes = new Map<string, { hash: Hash; bytes: number }>();

  constructor(
    @Inject(NodeStore) store: NodeStore,
    @Inject(NodeKeys) private readonly keys: NodeKeys,
    @Inject(OBJECT_STORE) private readonly objects: ObjectStore,
    @Optional() @Inject(NodeAudit) private readonly audit?: NodeAudit,
  ) {
    this.repository = new FilesRepository(store);
    // Earlier versions staged parts here; nothing in it can be resumed.
    rmSync(join(store.stateDir, 'staging', 'files'), { force: true, recursive: true });
  }

  /** Parts a previous run was receiving are dropped: their streams cannot resume. */
  async onApplicationBootstrap(): Promise<void> {
    await this.dropUncommittedParts();
  }

  /**
   * Deletes the objects of parts that were stored but never committed (the node stopped between
   * the two): for every open upload, any object at or after its next part index. A retried part
   * would replace it anyway; this is for uploads that are never retried. Returns how many.
   */
  async dropUncommittedParts(): Promise<number> {
    let dropped = 0;
    for (const { id, workspace_id } of this.repository.openUploads()) {
      const prefix = `${workspace_id}/${id}/`;
      for (const key of await this.objects.list(prefix)) {
        // Read again per object: a part may have been accepted (or committed) meanwhile.
        const upload = this.repository.upload(id);
        const index = Number(key.slice(prefix.length));
        if (!upload || this.activeParts.has(id) || !Number.isInteger(index)) continue;
        if (index < upload.parts) continue;
        this.keys.dataKeys.deleteDataKey(key);
        await this.objects.delete(key);
        dropped += 1;
      }
    }
    if (dropped > 0)
      this.audit?.record({ code: 'data.upload.parts_dropped', fields: { count: dropped } });
    return dropped;
  }

  /**
   * Records what happened after a request was answered (a part committed, a download finished).
   * Too late to fail the request: a record that cannot be written is logged, never thrown.
   */
  private record(event: NodeAuditEvent, logger: Logger): void {
    try {
      this.audit?.record(event);
    } catch (error) {
      logger.error({ code: event.code, reason: errorText(error) }, 'audit record failed');
    }
  }

  /** Resolves once the part being received for `uploadId` (if any) was committed or dropped. */
  async settled(uploadId: string): Promise<void> {
    await this.activeParts.get(uploadId)?.done;
  }

  handlers(streams: FileStreams): HandlerMap {
    return {
      'files.upload.start': (payload, { principal }) =>
        settle(() => this.startUpload(payload, principal)),
      'files.upload.part': (payload, { principal, logger }) =>
        this.acceptPart(payload, principal, streams, logger),
      'files.upload.status': ({ uploadId }, { principal }) =>
        settle(() => {
          const upload = this.uploadFor(uploadId, principal);
          if (!upload) {
            const { size } = this.completedVersion(uploadId, principal);
            return { received: size, size, complete: true };
          }
          return { received: upload.received, size: upload.total_size, complete: false };
        }),
      'files.upload.complete': ({ uploadId }, { principal }) =>
        this.completeUpload(uploadId, principal),
      'files.list': ({ workspaceId, folder }, { principal }) =>
        settle(() => {
          this.workspaceFor(workspaceId, principal);
          const at = checkFolder(folder);
          const base = at === '/' ? '' : at;
          return {
            items: this.repository.filesIn(workspaceId, at).map(view),
            folders: this.repository
              .subfoldersOf(workspaceId, at)
              .map((name) => ({ name, path: `${base}/${name}` })),
          };
        }),
      'files.stat': ({ workspaceId, fileId }, { principal }) =>
        settle(() => view(this.fileFor(workspaceId, fileId, principal))),
      'files.versions': ({ workspaceId, fileId }, { principal }) =>
        settle(() => {
          const file = this.fileFor(workspaceId, fileId, principal);
          const versions = this.repository.versions(file.id).map((v) => ({
            version: v.version,
            size: v.size,
            sha256: v.sha256,
            createdAt: v.created_at,
          }));
          return { versions };
        }),
      'files.rename': ({ workspaceId, fileId, name }, { principal }) =>
        settle(() => {
          const file = this.fileFor(workspaceId, fileId, principal);
          return this.place(file, file.folder, checkFileName(name));
        }),
      'files.move': ({ workspaceId, fileId, folder }, { principal }) =>
        settle(() => {
          const file = this.fileFor(workspaceId, fileId, principal);
          return this.place(file, checkFolder(folder), file.name);
        }),
      'files.delete': ({ workspaceId, fileId }, { principal, logger }) =>
        this.deleteFile(workspaceId, fileId, principal, logger),
      'files.download': (payload, { principal, logger }) =>
        settle(() => this.startDownload(payload, principal, streams, logger)),
    };
  }

  // ---- scope -------------------------------------------------------------------------------

  /** The workspace, if it is the principal's; otherwise "not found" (never "forbidden"). */
  private workspaceFor(workspaceId: string, principal: Principal | undefined): WorkspaceScopeRow {
    const workspace = this.repository.workspace(workspaceId);
    if (
      !principal ||
      !workspace ||
      workspace.tenant_id !== principal.tenantId ||
      (principal.workspaceId !== undefined && principal.workspaceId !== workspaceId)
    ) {
      throw notFound();
    }
    return workspace;
  }

  private fileFor(workspaceId: string, fileId: string, principal: Principal | undefined): FileRow {
    this.workspaceFor(workspaceId, principal);
    const file = this.repository.file(workspaceId, fileId);
    if (!file) throw notFound();
    return file;
  }

  private uploadFor(uploadId: string, principal: Principal | undefined): UploadRow | undefined {
    const upload = this.repository.upload(uploadId);
    if (!upload) return undefined;
    this.workspaceFor(upload.workspace_id, principal);
    if (upload.tenant_id !== principal?.tenantId) throw notFound();
    return upload;
  }

  /** The version an upload already became (a repeated `complete` or `status`). */
  private completedVersion(uploadId: string, principal: Principal | undefined) {
    const version = this.repository.versionByUpload(uploadId);
    if (!version) throw notFound();
    const file = this.repository.fileById(version.file_id);
    if (!file) throw notFound();
    this.workspaceFor(file.workspace_id, principal);
    return { file, size: version.size, version };
  }

  // ---- uploads -----------------------------------------------------------------------------

  private startUpload(
    payload: MethodPayload<'files.upload.start'>,
    principal: Principal | undefined,
  ): MethodResult<'files.upload.start'> {
    const { workspaceId, tenantId, uploadId, size } = payload;
    const workspace = this.workspaceFor(workspaceId, principal);
    if (workspace.tenant_id !== tenantId) throw notFound();
    const folder = checkFolder(payload.folder);
    const name = checkFileName(payload.name);
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_SIZE) {
      throw new CausewayError('validation_failed', 'A file size must be 0 to 1 TiB.');
    }
    return this.repository.transaction(() => {
      const existing = this.repository.upload(uploadId);
      if (existing) {
        if (
          existing.workspace_id !== workspaceId ||
          existing.folder !== folder ||
          existing.name !== name ||
          existing.total_size !== size
        ) {
          throw new CausewayError('conflict', 'Another upload with this id exists.');
        }
        return { uploadId, received: existing.received };
      }
      const done = this.repository.versionByUpload(uploadId);
      if (done) {
        const file = this.repository.fileById(done.file_id);
        if (!file || file.workspace_id !== workspaceId) throw notFound();
        return { uploadId, received: done.size };
      }
      const quota = workspace.quota_bytes;
      const usedBytes = quota === null ? 0 : this.repository.usedBytes(workspaceId);
      if (quota !== null && usedBytes + size > quota) {
        throw new CausewayError('payload_too_large', "The file exceeds the workspace's quota.", {
          reason: 'quota_exceeded',
          quotaBytes: quota,
          usedBytes,
          size,
        });
      }
      const now = new Date();
      this.repository.insertUpload({
        id: uploadId,
        workspace_id: workspaceId,
        tenant_id: tenantId,
        folder,
        name,
        total_size: size,
        received: 0,
        parts: 0,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + UPLOAD_LIFETIME_MS).toISOString(),
      });
      return { uploadId, received: 0 };
    });
  }

  private async acceptPart(
    payload: MethodPayload<'files.upload.part'>,
    principal: Principal | undefined,
    streams: FileStreams,
    logger: Logger,
  ): Promise<MethodResult<'files.upload.part'>> {
    const { uploadId, offset, streamId, from } = payload;
    const upload = this.uploadFor(uploadId, principal);
    const committed = this.repository.partByStream(streamId);
    if (committed && committed.file_id === uploadId) return { accepted: true };
    if (!upload) throw notFound();
    const active = this.activeParts.get(uploadId);
    if (active) {
      if (active.streamId === streamId) return { accepted: true };
      throw new CausewayError('conflict', 'Another part of this upload is being received.');
    }
    if (offset !== upload.received) {
      throw new CausewayError('conflict', 'The part does not start where the upload stands.', {
        received: upload.received,
      });
    }
    if (upload.received >= upload.total_size) {
      throw new CausewayError('conflict', 'The upload has all its bytes.');
    }
    // Claimed before the first await, so a concurrent request for this upload is refused.
    let release = (): void => undefined;
    const done = new Promise<void>((resolve) => (release = resolve));
    this.activeParts.set(uploadId, { streamId, done });
    try {
      const partIndex = upload.parts;
      const objectId = `${upload.workspace_id}/${uploadId}/${partIndex}`;
      // A data key and object left by an interrupted attempt at this part (same index): never
      // committed, so never read.
      this.keys.dataKeys.deleteDataKey(objectId);
      await this.objects.delete(objectId);
      const { dataKey } = await this.keys.dataKeys.newDataKey(
        upload.workspace_id,
        upload.tenant_id,
        objectId,
      );
      // The whole-file hash continues only from exactly where the upload stands.
      const running =
        upload.received === 0
          ? { hash: createHash('sha256'), bytes: 0 }
          : this.fileHashes.get(uploadId);
      const sink = new PartSink({
        dataKey,
        objectId,
        maxSize: upload.total_size - upload.received,
        store: (ciphertext) => this.objects.put(objectId, ciphertext),
        fileHash: running?.bytes === upload.received ? running.hash.copy() : undefined,
        commit: async (result, summary, fileHash) => {
          const ciphertextSize = ciphertextSizeFor(result.size, summary.chunkSize);
          if (summary.ciphertextBytes !== ciphertextSize) {
            throw new Error('the stored part has an unexpected size');
          }
          const part: FilePartRow = {
            file_id: uploadId,
            version: UPLOAD_VERSION,
            part_index: partIndex,
            object_id: objectId,
            plain_size: result.size,
            ciphertext_size: ciphertextSize,
            chunk_size: summary.chunkSize,
            stream_id: streamId,
          };
          if (!this.repository.commitPart(part, offset)) {
            throw new Error('the upload moved on while the part was received');
          }
          this.keepFileHash(uploadId, fileHash, offset + result.size);
          logger.info({ uploadId, partIndex, size: result.size }, 'upload part committed');
          this.record(
            {
              code: 'data.upload.part_committed',
              fields: {
                subject: principal?.subject ?? null,
                tenantId: upload.tenant_id,
                workspaceId: upload.workspace_id,
                uploadId,
                offset,
                bytes: result.size,
              },
            },
            logger,
          );
        },
        discard: async () => {
          this.keys.dataKeys.deleteDataKey(objectId);
          await this.objects.delete(objectId);
        },
      });
      let accepted: Promise<unknown>;
      try {
        accepted = streams.receiver.accept({ streamId, from, sink });
      } catch (error) {
        await sink.drop();
        throw new CausewayError('conflict', `The part stream cannot be taken: ${errorText(error)}`);
      }
      void accepted
        .catch(async (error: unknown) => {
          logger.warn({ uploadId, streamId, reason: errorText(error) }, 'upload part dropped');
          this.record(
            {
              code: 'data.upload.part_failed',
              fields: {
                subject: principal?.subject ?? null,
                tenantId: upload.tenant_id,
                workspaceId: upload.workspace_id,
                uploadId,
                offset,
                reason: 'stream_failed',
              },
            },
            logger,
          );
          await sink.drop();
        })
        .catch((error: unknown) =>
          logger.warn({ uploadId, reason: errorText(error) }, 'could not drop an upload part'),
        )
        .finally(() => {
          this.activeParts.delete(uploadId);
          release();
        });
      return { accepted: true };
    } catch (error) {
      this.activeParts.delete(uploadId);
      release();
      throw error;
    }
  }

  private async completeUpload(
    uploadId: string,
    principal: Principal | undefined,
  ): Promise<FileView> {
    const upload = this.uploadFor(uploadId, principal);
    if (!upload) return view(this.completedVersion(uploadId, principal).file);
    if (this.activeParts.has(uploadId) || upload.received !== upload.total_size) {
      throw new CausewayError('conflict', 'The upload has not received all its bytes.', {
        received: upload.received,
        size: upload.total_size,
      });
    }
    // The running hash of the committed parts; without it (the node restarted during the
    // upload) the file is read back, decrypted and hashed.
    const running = this.fileHashes.get(uploadId);
    const sha256 =
      running?.bytes === upload.total_size
        ? running.hash.copy().digest('hex')
        : await this.readBackSha256(uploadId);
    const file = this.repository.transaction(() => {
      if (!this.repository.upload(uploadId)) return undefined;
      const at = new Date().toISOString();
      const existing = this.repository.fileByName(upload.workspace_id, upload.folder, upload.name);
      let fileId: string;
      let version: number;
      if (existing) {
        fileId = existing.id;
        version = existing.current_version + 1;
        this.repository.setCurrentVersion(fileId, version, upload.total_size, sha256, at);
      } else {
        fileId = randomUUID();
        version = 1;
        this.repository.insertFile({
          id: fileId,
          workspace_id: upload.workspace_id,
          folder: upload.folder,
          name: upload.name,
          current_version: 1,
          size: upload.total_size,
          sha256,
          created_at: at,
          updated_at: at,
        });
      }
      this.repository.insertVersion({
        file_id: fileId,
        version,
        size: upload.total_size,
        sha256,
        upload_id: uploadId,
        created_at: at,
      });
      this.repository.adoptParts(uploadId, fileId, version);
      this.repository.deleteUpload(uploadId);
      return this.repository.fileById(fileId);
    });
    this.fileHashes.delete(uploadId);
    // Completed concurrently by a repeated request: answer as that one did.
    return view(file ?? this.completedVersion(uploadId, principal).file);
  }

  /**
   * Adopts a committed part's whole-file hash (or forgets the upload's, when the part had none).
   * At most `MAX_RUNNING_HASHES` are kept, the least recently advanced dropped first: an upload
   * dropped without completing (aborted, expired) leaves its entry until then, and an upload
   * whose entry was dropped is read back at completion.
   */
  private keepFileHash(uploadId: string, hash: Hash | undefined, bytes: number): void {
    this.fileHashes.delete(uploadId);
    if (!hash) return;
    this.fileHashes.set(uploadId, { hash, bytes });
    if (this.fileHashes.size > MAX_RUNNING_HASHES) {
      const oldest = this.fileHashes.keys().next();
      if (!oldest.done) this.fileHashes.delete(oldest.value);
    }
  }

  /** The SHA-256 of an upload's committed parts, read back and verified chunk by chunk. */
  private async readBackSha256(uploadId: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const piece of this.plaintext(this.repository.parts(uploadId, UPLOAD_VERSION))) {
      hash.update(piece);
    }
    return hash.digest('hex');
  }

  // ---- files -------------------------------------------------------------------------------

  private place(file: FileRow, folder: string, name: string): FileView {
    if (file.folder === folder && file.name === name) return view(file);
    return this.repository.transaction(() => {
      if (this.repository.fileByName(file.workspace_id, folder, name)) {
        throw new CausewayError('conflict', 'A file with this name exists in that folder.');
      }
      this.repository.place(file.id, folder, name, new Date().toISOString());
      const updated = this.repository.fileById(file.id);
      if (!updated) throw notFound();
      return view(updated);
    });
  }

  private async deleteFile(
    workspaceId: string,
    fileId: string,
    principal: Principal | undefined,
    logger: Logger,
  ): Promise<MethodResult<'files.delete'>> {
    this.workspaceFor(workspaceId, principal);
    const file = this.repository.file(workspaceId, fileId);
    if (!file) return { fileId, versionsDeleted: 0 };
    const versions = this.repository.versions(fileId).length;
    // Keys first (the bytes become unreadable), then objects, then records: each step is
    // idempotent, so a repeated request after a crash finishes the job.
    const parts = this.repository.allParts(fileId);
    for (const part of parts) this.keys.dataKeys.deleteDataKey(part.object_id);
    this.audit?.record({
      code: 'key.data_keys_destroyed',
      fields: { workspaceId, fileId, versions, dataKeys: parts.length },
    });
    for (const part of parts) await this.objects.delete(part.object_id);
    this.repository.deleteFile(fileId);
    logger.info({ workspaceId, fileId, versions }, 'file deleted');
    return { fileId, versionsDeleted: versions };
  }

  // ---- downloads ---------------------------------------------------------------------------

  private startDownload(
    payload: MethodPayload<'files.download'>,
    principal: Principal | undefined,
    streams: FileStreams,
    logger: Logger,
  ): MethodResult<'files.download'> {
    const { workspaceId, fileId, range, streamId, to } = payload;
    const file = this.fileFor(workspaceId, fileId, principal);
    const version = this.repository.version(file.id, payload.version ?? file.current_version);
    if (!version) throw notFound();
    const parts = this.repository.parts(file.id, version.version);
    if (range && (range.end < range.start || range.end >= version.size)) {
      throw new CausewayError('validation_failed', 'The range is not inside the file.', {
        reason: 'range_not_satisfiable',
        size: version.size,
      });
    }
    const source = range
      ? this.rangePlaintext(parts, range.start, range.end)
      : this.plaintext(parts);
    const size = range ? range.end - range.start + 1 : version.size;
    let sending: Promise<unknown>;
    try {
      // A whole file: the sender's SHA-256 of what it sends must be the stored one, checked
      // before the final chunk goes out (the receiver never completes a wrong file). A range is
      // checked by its chunks' GCM tags only.
      sending = streams.sender.send({
        streamId,
        to,
        source,
        ...(range ? {} : { sha256: version.sha256 }),
      });
    } catch (error) {
      throw new CausewayError('conflict', `The download stream cannot start: ${errorText(error)}`);
    }
    const recorded = {
      subject: principal?.subject ?? null,
      tenantId: principal?.tenantId ?? null,
      workspaceId,
      fileId,
      version: version.version,
      range: range ? `${range.start}-${range.end}` : null,
      bytes: size,
    };
    sending.then(
      () => {
        logger.info({ fileId, streamId, size }, 'file sent');
        this.record({ code: 'data.file.download_completed', fields: recorded }, logger);
      },
      (error: unknown) => {
        logger.warn({ fileId, streamId, reason: errorText(error) }, 'file download failed');
        this.record(
          {
            code: 'data.file.download_failed',
            fields: { ...recorded, reason: 'stream_failed' },
          },
          logger,
        );
      },
    );
    return { size, totalSize: version.size, sha256: version.sha256 };
  }

  /**
   * The whole plaintext of `parts`, each chunk verified before it is yielded. Read as the range
   * of all of it: the objects' chunk records without their headers (the chunk size comes from
   * the part's row and is bound into every chunk's AAD), so the store's reads line up with the
   * records and the decryptor takes them without a copy. Empty parts hold no bytes to read.
   */
  private async *plaintext(parts: FilePartRow[]): AsyncGenerator<Buffer> {
    const size = parts.reduce((total, part) => total + part.plain_size, 0);
    if (size > 0) yield* this.rangePlaintext(parts, 0, size - 1);
  }

  /** Bytes `start`..`end` (inclusive) of the parts, reading only the chunks that hold them. */
  private async *rangePlaintext(
    parts: FilePartRow[],
    start: number,
    end: number,
  ): AsyncGenerator<Buffer> {
    let partStart = 0;
    for (const part of parts) {
      const partEnd = partStart + part.plain_size - 1;
      if (part.plain_size > 0 && partEnd >= start && partStart <= end) {
        const from = Math.max(start, partStart) - partStart;
        const to = Math.min(end, partEnd) - partStart;
        const range = ciphertextRangeFor(from, to, part.plain_size, part.chunk_size);
        const dataKey = await this.keys.dataKeys.dataKeyFor(part.object_id);
        try {
          const decrypt = createRangeDecryptStream({
            dataKey,
            objectId: part.object_id,
            chunkSize: part.chunk_size,
            firstChunkIndex: range.firstChunkIndex,
            totalChunks: range.totalChunks,
            skip: range.skip,
            take: range.take,
          });
          const stored = await this.objects.get(part.object_id, {
            start: range.ciphertextStart,
            end: range.ciphertextEndInclusive,
          });
          yield* chunksOf(pipeline(stored, decrypt, () => undefined));
        } finally {
          dataKey.fill(0);
        }
      }
      partStart += part.plain_size;
    }
  }
}

async function* chunksOf(stream: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const piece of stream) yield piece as Buffer;
}

/** Runs synchronous work as a handler: whatever it throws becomes a rejected promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function view(file: FileRow): FileView {
  return {
    fileId: file.id,
    workspaceId: file.workspace_id,
    folder: file.folder,
    name: file.name,
    version: file.current_version,
    size: file.size,
    sha256: file.sha256,
    createdAt: file.created_at,
    updatedAt: file.updated_at,
  };
}
