import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verification reads a chain's rows in stored order a page at a time (`WHERE chain = $1 AND
 * seq > $2 ORDER BY seq LIMIT n`). Without this index each page of a small tenant's chain
 * would scan the rows of every other chain.
 */
export class AuditVerifyIndex1795585000000 implements MigrationInterface {
  name = 'AuditVerifyIndex1795585000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_events_chain_seq_ix ON audit_events (chain, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_events_chain_seq_ix`);
  }
}
