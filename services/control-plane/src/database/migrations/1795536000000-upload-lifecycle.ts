import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The upload lifecycle (docs/design/files.md): an upload row expires seven days after it was
 * created (the housekeeping sweep deletes it then; the node drops its bytes on its own sweep),
 * and a workspace may have a storage quota, mirrored from its node so the API can show it.
 */
export class UploadLifecycle1795536000000 implements MigrationInterface {
  name = 'UploadLifecycle1795536000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE uploads
        ADD COLUMN expires_at timestamptz NULL`);
    await q.query(`UPDATE uploads SET expires_at = created_at + interval '7 days'`);
    await q.query(`
      ALTER TABLE uploads
        ALTER COLUMN expires_at SET DEFAULT now() + interval '7 days',
        ALTER COLUMN expires_at SET NOT NULL`);
    await q.query(`CREATE INDEX uploads_expires_at_ix ON uploads (expires_at)`);
    await q.query(`
      ALTER TABLE workspaces
        ADD COLUMN quota_bytes bigint NULL,
        ADD CONSTRAINT workspaces_quota_bytes_ck CHECK (quota_bytes IS NULL OR quota_bytes >= 0)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
