import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { HandlerMap } from '@causeway/bridge';
import { CausewayError, type MethodResult, type Principal } from '@causeway/contracts';
import type { NodeAudit } from '../audit/node-audit';
import type { NodeKeys } from '../keys';
import type { NodeStore } from '../state/node-store';
import type { ObjectStore } from '../storage';
import { FilesRepository, UPLOAD_VERSION, type UploadRow } from './files.repository';

export interface UploadLifecycleOptions {
  /** How often expired uploads are swept; 0 turns the timer off (a test sweeps by hand). */
  sweepIntervalMs: number;
  /** The clock the sweep compares `expires_at` with (injected by tests). */
  now?: () => Date;
  logger: Logger;
  /** The node's audit trail (absent in tests that do not look at it). */
  audit?: Pick<NodeAudit, 'record'>;
}

/** What one sweep dropped. */
export interface SweepOutcome {
  /** Expired unfinished uploads. */
  expired: number;
  /** Parts left without an upload by an interrupted termination (finished now). */
  orphaned: number;
}

function notFound(): CausewayError {
  return new CausewayError('not_found', 'No such workspace on this node.');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The end of an upload that does not become a file: tus termination (`files.upload.abort`) and
 * the periodic sweep of expired uploads, plus the workspace quota (`workspace.quota.set`).
 *
 * Dropping an upload first deletes its `uploads` row, in one SQLite transaction: from then on no
 * part is accepted, a part still being received fails its commit and drops its own key and
 * object, and the quota it reserved is free. Then, as `files.delete` does, the data keys of its
 * parts go (the bytes become unreadable), then the objects, then the part rows; each step is
 * idempotent, and parts left by an interruption (version-0 rows without an upload) are finished
 * by the next sweep. See docs/design/files.md.
 */
export class UploadLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly files: FilesRepository;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepOutcome> | undefined;

  constructor(
    private readonly store: NodeStore,
    private readonly keys: NodeKeys,
    private readonly objects: ObjectStore,
    private readonly options: UploadLifecycleOptions,
  ) {
    this.files = new FilesRepository(store);
    this.now = options.now ?? (() => new Date());
  }

  handlers(): HandlerMap {
    return {
      'files.upload.abort': ({ uploadId }, { principal, logger }) =>
        this.abort(uploadId, principal, logger),
      'workspace.quota.set': ({ workspaceId, tenantId, quotaBytes }, { principal, logger }) => {
        try {
          return Promise.resolve(
            this.setQuota(workspaceId, tenantId, quotaBytes, principal, logger),
          );
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
      },
    };
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** Starts the periodic sweep (the first one runs after one interval). */
  start(): void {
    if (this.options.sweepIntervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) =>
        this.options.logger.warn({ reason: errorText(error) }, 'upload sweep failed'),
      );
    }, this.options.sweepIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /**
   * Drops every unfinished upload whose `expires_at` lies before the clock's now, and finishes
   * interrupted drops. One sweep at a time; a call during a sweep gets that sweep's outcome.
   */
  sweep(): Promise<SweepOutcome> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<SweepOutcome> {
    const now = this.now().toISOString();
    const expired = this.store.db
      .prepare('SELECT * FROM uploads WHERE expires_at < ? ORDER BY expires_at')
      .all(now) as UploadRow[];
    let dropped = 0;
    for (const upload of expired) {
      if (this.fence(upload.id)) dropped += 1;
      await this.dropParts(upload.workspace_id, upload.id, upload.parts);
      this.options.logger.info(
        { uploadId: upload.id, workspaceId: upload.workspace_id, expiresAt: upload.expires_at },
        'expired upload dropped',
      );
      this.options.audit?.record({
        code: 'data.upload.expired',
        fields: {
          tenantId: upload.tenant_id,
          workspaceId: upload.workspace_id,
          uploadId: upload.id,
          folder: upload.folder,
          name: upload.name,
          size: upload.total_size,
          received: upload.received,
        },
      });
    }
    const orphans = this.store.db
      .prepare(
        `SELECT file_id, MIN(object_id) AS object_id, MAX(part_index) AS last FROM file_parts
         WHERE version = ? AND file_id NOT IN (SELECT id FROM uploads)
         GROUP BY file_id`,
      )
      .all(UPLOAD_VERSION) as Array<{ file_id: string; object_id: string; last: number }>;
    for (const orphan of orphans) {
      const workspaceId = orphan.object_id.split('/')[0] ?? '';
      await this.dropParts(workspaceId, orphan.file_id, orphan.last + 1);
      this.options.audit?.record({
        code: 'data.upload.orphans_dropped',
        fields: { workspaceId, uploadId: orphan.file_id, count: orphan.last + 1 },
      });
    }
    if (dropped > 0 || orphans.length > 0) {
      this.options.logger.info({ expired: dropped, orphaned: orphans.length }, 'uploads swept');
    }
    return { expired: dropped, orphaned: orphans.length };
  }

  // ---- termination -------------------------------------------------------------------------

  private async abort(
    uploadId: string,
    principal: Principal | undefined,
    logger: Logger,
  ): Promise<MethodResult<'files.upload.abort'>> {
    const upload = this.files.upload(uploadId);
    if (upload) {
      // Another tenant's or workspace's upload is answered like a missing one, untouched.
      if (!this.inScope(upload.workspace_id, upload.tenant_id, principal)) {
        return { uploadId, dropped: false };
      }
      const fenced = this.fence(uploadId);
      await this.dropParts(upload.workspace_id, uploadId, upload.parts);
      logger.info({ uploadId, workspaceId: upload.workspace_id }, 'upload terminated');
      return { uploadId, dropped: fenced };
    }
    const version = this.files.versionByUpload(uploadId);
    if (version) {
      const file = this.files.fileById(version.file_id);
      const workspace = file ? this.files.workspace(file.workspace_id) : undefined;
      if (file && workspace && this.inScope(workspace.id, workspace.tenant_id, principal)) {
        throw new CausewayError(
          'conflict',
          'This upload is finished: it became a file, which stays. Delete the file instead.',
          { reason: 'upload_complete', fileId: file.id },
        );
      }
      return { uploadId, dropped: false };
    }
    // Parts left by an interrupted termination: finish the job if they are the caller's.
    const leftover = this.store.db
      .prepare(
        `SELECT object_id, part_index FROM file_parts WHERE file_id = ? AND version = ?
         ORDER BY part_index DESC LIMIT 1`,
      )
      .get(uploadId, UPLOAD_VERSION) as { object_id: string; part_index: number } | undefined;
    const workspace = leftover
      ? this.files.workspace(leftover.object_id.split('/')[0] ?? '')
      : undefined;
    if (leftover && workspace && this.inScope(workspace.id, workspace.tenant_id, principal)) {
      await this.dropParts(workspace.id, uploadId, leftover.part_index + 1);
    }
    return { uploadId, dropped: false };
  }

  /** Deletes the upload row: no part is accepted or committed after this. */
  private fence(uploadId: string): boolean {
    return this.files.transaction(() => {
      if (!this.files.upload(uploadId)) return false;
      this.files.deleteUpload(uploadId);
      return true;
    });
  }

  /**
   * Data keys of the upload's parts (committed ones, any object under its prefix, and the next
   * index, whose key an interrupted part may have left), then its objects, then its part rows.
   */
  private async dropParts(workspaceId: string, uploadId: string, nextIndex: number) {
    const prefix = `${workspaceId}/${uploadId}/`;
    const parts = this.files.parts(uploadId, UPLOAD_VERSION);
    const objectIds = new Set<string>([
      ...parts.map((p) => p.object_id),
      ...(await this.objects.list(prefix)),
      `${prefix}${nextIndex}`,
    ]);
    for (const objectId of objectIds) this.keys.dataKeys.deleteDataKey(objectId);
    await this.objects.deletePrefix(prefix);
    this.store.db
      .prepare('DELETE FROM file_parts WHERE file_id = ? AND version = ?')
      .run(uploadId, UPLOAD_VERSION);
  }

  private inScope(workspaceId: string, tenantId: string, principal: Principal | undefined) {
    return (
      principal !== undefined &&
      tenantId === principal.tenantId &&
      (principal.workspaceId === undefined || principal.workspaceId === workspaceId)
    );
  }

  // ---- quota -------------------------------------------------------------------------------

  private setQuota(
    workspaceId: string,
    tenantId: string,
    quotaBytes: number | null,
    principal: Principal | undefined,
    logger: Logger,
  ): MethodResult<'workspace.quota.set'> {
    const workspace = this.files.workspace(workspaceId);
    if (
      !workspace ||
      workspace.tenant_id !== tenantId ||
      !this.inScope(workspaceId, workspace.tenant_id, principal)
    ) {
      throw notFound();
    }
    this.store.db
      .prepare('UPDATE workspaces SET quota_bytes = ? WHERE id = ?')
      .run(quotaBytes, workspaceId);
    const usedBytes = this.files.usedBytes(workspaceId);
    logger.info({ workspaceId, quotaBytes, usedBytes }, 'workspace quota set');
    return { workspaceId, quotaBytes, usedBytes };
  }
}
