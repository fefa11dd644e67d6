import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A workspace being deleted stays listed as `deleting` until its node confirms. */
export class WorkspaceDeletion1795510000000 implements MigrationInterface {
  name = 'WorkspaceDeletion1795510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workspaces DROP CONSTRAINT workspaces_state_ck`);
    await q.query(`
      ALTER TABLE workspaces ADD CONSTRAINT workspaces_state_ck
        CHECK (state IN ('provisioning', 'ready', 'failed', 'deleting'))`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
