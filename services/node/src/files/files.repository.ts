import type { NodeStore } from '../state/node-store';

export interface WorkspaceScopeRow {
  id: string;
  tenant_id: string;
  quota_bytes: number | null;
}

export interface FileRow {
  id: string;
  workspace_id: string;
  folder: string;
  name: string;
  current_version: number;
  size: number;
  sha256: string;
  created_at: string;
  updated_at: string;
}

export interface FileVersionRow {
  file_id: string;
  version: number;
  size: number;
  sha256: string;
  upload_id: string;
  created_at: string;
}

export interface FilePartRow {
  file_id: string;
  version: number;
  part_index: number;
  object_id: string;
  plain_size: number;
  ciphertext_size: number;
  chunk_size: number;
  stream_id: string;
}

export interface UploadRow {
  id: string;
  workspace_id: string;
  tenant_id: string;
  folder: string;
  name: string;
  total_size: number;
  received: number;
  parts: number;
  created_at: string;
  expires_at: string;
}

/** An upload's committed parts are file_parts rows under (upload id, this version). */
export const UPLOAD_VERSION = 0;

/**
 * SQL for files, versions, parts and uploads. Every read of a file takes the workspace id, so a
 * file of another workspace is simply not found; the service checks the workspace's tenant.
 */
export class FilesRepository {
  constructor(private readonly store: NodeStore) {}

  transaction<T>(work: () => T): T {
    return this.store.db.transaction(work)();
  }

  workspace(workspaceId: string): WorkspaceScopeRow | undefined {
    return this.store.db
      .prepare('SELECT id, tenant_id, quota_bytes FROM workspaces WHERE id = ?')
      .get(workspaceId) as WorkspaceScopeRow | undefined;
  }

  /** Bytes the workspace holds (every version) plus what open uploads have reserved. */
  usedBytes(workspaceId: string): number {
    const row = this.store.db
      .prepare(
        `SELECT
           (SELECT COALESCE(SUM(v.size), 0) FROM file_versions v JOIN files f ON f.id = v.file_id
             WHERE f.workspace_id = ?) +
           (SELECT COALESCE(SUM(total_size), 0) FROM uploads WHERE workspace_id = ?) AS n`,
      )
      .get(workspaceId, workspaceId) as { n: number };
    return row.n;
  }

  file(workspaceId: string, fileId: string): FileRow | undefined {
    return this.store.db
      .prepare('SELECT * FROM files WHERE id = ? AND workspace_id = ?')
      .get(fileId, workspaceId) as FileRow | undefined;
  }

  /** Only after the caller checked the workspace (e.g. from an upload it owns). */
  fileById(fileId: string): FileRow | undefined {
    return this.store.db.prepare('SELECT * FROM files WHERE id = ?').get(fileId) as
      FileRow | undefined;
  }

  fileByName(workspaceId: string, folder: string, name: string): FileRow | undefined {
    return this.store.db
      .prepare('SELECT * FROM files WHERE workspace_id = ? AND folder = ? AND name = ?')
      .get(workspaceId, folder, name) as FileRow | undefined;
  }

  filesIn(workspaceId: string, folder: string): FileRow[] {
    return this.store.db
      .prepare('SELECT * FROM files WHERE workspace_id = ? AND folder = ? ORDER BY name')
      .all(workspaceId, folder) as FileRow[];
  }

  /** The names of the folders directly inside `folder` that hold a file somewhere below. */
  subfoldersOf(workspaceId: string, folder: string): string[] {
    const prefix = folder === '/' ? '/' : `${folder}/`;
    // substr, not LIKE: folder names may contain % and _.
    const rows = this.store.db
      .prepare(
        `SELECT DISTINCT folder FROM files
         WHERE workspace_id = ? AND folder <> ? AND substr(folder, 1, length(?)) = ?`,
      )
      .all(workspaceId, folder, prefix, prefix) as Array<{ folder: string }>;
    const names = new Set(rows.map((r) => r.folder.slice(prefix.length).split('/')[0] ?? ''));
    names.delete('');
    return [...names].sort();
  }

  versions(fileId: string): FileVersionRow[] {
    return this.store.db
      .prepare('SELECT * FROM file_versions WHERE file_id = ? ORDER BY version')
      .all(fileId) as FileVersionRow[];
  }

  version(fileId: string, version: number): FileVersionRow | undefined {
    return this.store.db
      .prepare('SELECT * FROM file_versions WHERE file_id = ? AND version = ?')
      .get(fileId, version) as FileVersionRow | undefined;
  }

  versionByUpload(uploadId: string): FileVersionRow | undefined {
    return this.store.db
      .prepare('SELECT * FROM file_versions WHERE upload_id = ?')
      .get(uploadId) as FileVersionRow | undefined;
  }

  parts(fileId: string, version: number): FilePartRow[] {
    return this.store.db
      .prepare('SELECT * FROM file_parts WHERE file_id = ? AND version = ? ORDER BY part_index')
      .all(fileId, version) as FilePartRow[];
  }

  allParts(fileId: string): FilePartRow[] {
    return this.store.db
      .prepare('SELECT * FROM file_parts WHERE file_id = ? ORDER BY version, part_index')
      .all(fileId) as FilePartRow[];
  }

  partByStream(streamId: string): FilePartRow | undefined {
    return this.store.db.prepare('SELECT * FROM file_parts WHERE stream_id = ?').get(streamId) as
      FilePartRow | undefined;
  }

  upload(uploadId: string): UploadRow | undefined {
    return this.store.db.prepare('SELECT * FROM uploads WHERE id = ?').get(uploadId) as
      UploadRow | undefined;
  }

  /** Every unfinished upload (the node's own maintenance, not a tenant's request). */
  openUploads(): UploadRow[] {
    return this.store.db.prepare('SELECT * FROM uploads').all() as UploadRow[];
  }

  insertUpload(row: UploadRow): void {
    this.store.db
      .prepare(
        `INSERT INTO uploads (id, workspace_id, tenant_id, folder, name, total_size, received,
           parts, created_at, expires_at)
         VALUES (@id, @workspace_id, @tenant_id, @folder, @name, @total_size, @received, @parts,
           @created_at, @expires_at)`,
      )
      .run(row);
  }

  /** Records a verified part and advances the upload, if it still stands where the part began. */
  commitPart(part: FilePartRow, offset: number): boolean {
    return this.transaction(() => {
      const moved = this.store.db
        .prepare(
          `UPDATE uploads SET received = received + ?, parts = parts + 1
           WHERE id = ? AND received = ? AND parts = ? AND received + ? <= total_size`,
        )
        .run(part.plain_size, part.file_id, offset, part.part_index, part.plain_size);
      if (moved.changes !== 1) return false;
      this.store.db
        .prepare(
          `INSERT INTO file_parts (file_id, version, part_index, object_id, plain_size,
             ciphertext_size, chunk_size, stream_id)
           VALUES (@file_id, @version, @part_index, @object_id, @plain_size, @ciphertext_size,
             @chunk_size, @stream_id)`,
        )
        .run(part);
      return true;
    });
  }

  insertFile(row: FileRow): void {
    this.store.db
      .prepare(
        `INSERT INTO files (id, workspace_id, folder, name, current_version, size, sha256,
           created_at, updated_at)
         VALUES (@id, @workspace_id, @folder, @name, @current_version, @size, @sha256,
           @created_at, @updated_at)`,
      )
      .run(row);
  }

  setCurrentVersion(fileId: string, version: number, size: number, sha256: string, at: string) {
    this.store.db
      .prepare(
        'UPDATE files SET current_version = ?, size = ?, sha256 = ?, updated_at = ? WHERE id = ?',
      )
      .run(version, size, sha256, at, fileId);
  }

  insertVersion(row: FileVersionRow): void {
    this.store.db
      .prepare(
        `INSERT INTO file_versions (file_id, version, size, sha256, upload_id, created_at)
         VALUES (@file_id, @version, @size, @sha256, @upload_id, @created_at)`,
      )
      .run(row);
  }

  /** Moves an upload's parts to the file version they now make up. */
  adoptParts(uploadId: string, fileId: string, version: number): void {
    this.store.db
      .prepare('UPDATE file_parts SET file_id = ?, version = ? WHERE file_id = ? AND version = ?')
      .run(fileId, version, uploadId, UPLOAD_VERSION);
  }

  deleteUpload(uploadId: string): void {
    this.store.db.prepare('DELETE FROM uploads WHERE id = ?').run(uploadId);
  }

  place(fileId: string, folder: string, name: string, at: string): void {
    this.store.db
      .prepare('UPDATE files SET folder = ?, name = ?, updated_at = ? WHERE id = ?')
      .run(folder, name, at, fileId);
  }

  deleteFile(fileId: string): void {
    this.transaction(() => {
      this.store.db.prepare('DELETE FROM file_parts WHERE file_id = ?').run(fileId);
      this.store.db.prepare('DELETE FROM file_versions WHERE file_id = ?').run(fileId);
      this.store.db.prepare('DELETE FROM files WHERE id = ?').run(fileId);
    });
  }
}
