import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A revoked node is kept (its history matters) but refused everywhere. */
export class NodeRevocation1795440000000 implements MigrationInterface {
  name = 'NodeRevocation1795440000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes ADD COLUMN revoked_at timestamptz`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
