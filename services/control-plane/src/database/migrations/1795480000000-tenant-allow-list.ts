import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Each tenant's IP allow-list (canonical CIDRs); empty allows every address. */
export class TenantAllowList1795480000000 implements MigrationInterface {
  name = 'TenantAllowList1795480000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants ADD COLUMN allow_list text[] NOT NULL DEFAULT '{}'`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
