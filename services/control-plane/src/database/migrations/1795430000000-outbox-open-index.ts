import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Commands still waiting for a result, by deadline: what the expiry sweep reads every few seconds. */
export class OutboxOpenIndex1795430000000 implements MigrationInterface {
  name = 'OutboxOpenIndex1795430000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX outbox_open_deadline_ix ON outbox (deadline) WHERE completed_at IS NULL`,
    );
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
