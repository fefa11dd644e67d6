import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deleting a tenant: `deleting` while its nodes destroy the keys of its workspaces, `deleted`
 * once none is left. The row stays (its audit events refer to it; the slug is not reused).
 */
export class TenantDeletion1795560000000 implements MigrationInterface {
  name = 'TenantDeletion1795560000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tenants
        ADD COLUMN state text NOT NULL DEFAULT 'active',
        ADD COLUMN deletion_requested_at timestamptz NULL,
        ADD COLUMN deleted_at timestamptz NULL,
        ADD CONSTRAINT tenants_state_ck CHECK (state IN ('active', 'deleting', 'deleted'))`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
