import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Resumable (tus) uploads the control plane relays to nodes: metadata only, never bytes. The
 * node holds the committed offset; this row says where an upload belongs (workspace, tenant,
 * node) and who started it, and keeps the file id once the upload became a file.
 */
export class Uploads1795520000000 implements MigrationInterface {
  name = 'Uploads1795520000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE uploads (
        id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        node_id uuid NOT NULL,
        folder text NOT NULL,
        name text NOT NULL,
        size bigint NOT NULL,
        "offset" bigint NOT NULL DEFAULT 0,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        file_id uuid NULL,
        completed_at timestamptz NULL,
        CONSTRAINT uploads_pk PRIMARY KEY (id),
        CONSTRAINT uploads_workspace_fk FOREIGN KEY (workspace_id)
          REFERENCES workspaces (id) ON DELETE CASCADE,
        CONSTRAINT uploads_size_ck CHECK (size >= 0),
        CONSTRAINT uploads_offset_ck CHECK ("offset" >= 0 AND "offset" <= size)
      )`);
    await q.query(
      `CREATE INDEX uploads_workspace_ix ON uploads (tenant_id, workspace_id, created_at)`,
    );
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
