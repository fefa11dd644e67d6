import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A revision of each tenant's key-rotation period, raised with every change in the same
 * transaction: nodes keep the highest revision they received, so copies of the setting that
 * arrive late (outbox retries, the resend to a node that comes back) never undo a newer one.
 */
export class KeyRotationRevision1795541000000 implements MigrationInterface {
  name = 'KeyRotationRevision1795541000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tenants ADD COLUMN key_rotation_revision integer NOT NULL DEFAULT 1
        CONSTRAINT tenants_key_rotation_revision_positive CHECK (key_rotation_revision >= 1)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
