import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { returnedRows } from '../common/returned-rows';

/** Where a workspace lives: what a call to its node needs. */
export interface HostedWorkspace {
  id: string;
  tenantId: string;
  nodeId: string;
  state: string;
}

/** Who may see a workspace: a signed-in user's tenant, or the platform operator (every tenant). */
export type TenantScope = { tenantId: string } | 'platform';

/** A tus upload as the control plane records it (metadata only; the bytes are on the node). */
export interface UploadRecord {
  id: string;
  workspaceId: string;
  tenantId: string;
  nodeId: string;
  folder: string;
  name: string;
  size: number;
  offset: number;
  createdBy: string;
  createdAt: Date;
  fileId: string | null;
}

interface UploadRow {
  id: string;
  workspace_id: string;
  tenant_id: string;
  node_id: string;
  folder: string;
  name: string;
  size: string;
  offset: string;
  created_by: string;
  created_at: Date;
  file_id: string | null;
}

const toRecord = (r: UploadRow): UploadRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  tenantId: r.tenant_id,
  nodeId: r.node_id,
  folder: r.folder,
  name: r.name,
  size: Number(r.size),
  offset: Number(r.offset),
  createdBy: r.created_by,
  createdAt: r.created_at,
  fileId: r.file_id,
});

/** Every read names the workspace and tenant scope: an upload is only found where it belongs. */
@Injectable()
export class FilesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async workspace(scope: TenantScope, workspaceId: string): Promise<HostedWorkspace | null> {
    const rows = await this.db.query<
      Array<{ id: string; tenant_id: string; node_id: string; state: string }>
    >(
      `SELECT id, tenant_id, node_id, state FROM workspaces
       WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`,
      [workspaceId, scope === 'platform' ? null : scope.tenantId],
    );
    const row = rows[0];
    return row
      ? { id: row.id, tenantId: row.tenant_id, nodeId: row.node_id, state: row.state }
      : null;
  }

  async insertUpload(
    row: Omit<UploadRecord, 'offset' | 'createdAt' | 'fileId'> & { offset: number },
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO uploads (id, workspace_id, tenant_id, node_id, folder, name, size, "offset", created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO NOTHING`,
      [
        row.id,
        row.workspaceId,
        row.tenantId,
        row.nodeId,
        row.folder,
        row.name,
        row.size,
        row.offset,
        row.createdBy,
      ],
    );
  }

  async findUpload(
    workspace: { id: string; tenantId: string },
    uploadId: string,
  ): Promise<UploadRecord | null> {
    const rows = await this.db.query<UploadRow[]>(
      `SELECT id, workspace_id, tenant_id, node_id, folder, name, size, "offset", created_by,
              created_at, file_id
       FROM uploads WHERE id = $1 AND workspace_id = $2 AND tenant_id = $3`,
      [uploadId, workspace.id, workspace.tenantId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async recordOffset(upload: UploadRecord, offset: number): Promise<void> {
    await this.db.query(
      `UPDATE uploads SET "offset" = $4, updated_at = now()
       WHERE id = $1 AND workspace_id = $2 AND tenant_id = $3`,
      [upload.id, upload.workspaceId, upload.tenantId, offset],
    );
  }

  async recordCompleted(upload: UploadRecord, fileId: string): Promise<void> {
    await this.db.query(
      `UPDATE uploads SET "offset" = size, file_id = $4, completed_at = now(), updated_at = now()
       WHERE id = $1 AND workspace_id = $2 AND tenant_id = $3`,
      [upload.id, upload.workspaceId, upload.tenantId, fileId],
    );
  }

  /** Deletes every upload record that expired before `now`; returns how many. */
  async deleteExpiredUploads(now: Date): Promise<number> {
    const rows = returnedRows(
      await this.db.query<unknown[] | [unknown[], number]>(
        'DELETE FROM uploads WHERE expires_at < $1 RETURNING id',
        [now],
      ),
    );
    return rows.length;
  }

  async deleteUpload(upload: UploadRecord): Promise<void> {
    await this.db.query(
      `DELETE FROM uploads WHERE id = $1 AND workspace_id = $2 AND tenant_id = $3`,
      [upload.id, upload.workspaceId, upload.tenantId],
    );
  }
}
