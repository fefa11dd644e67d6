import type { MigrationInterface, QueryRunner } from 'typeorm';
import { GENESIS_HASH, entryHash } from '@causeway/audit';
import { auditEntryBody, chainOf, type AuditRowContent } from '../../audit/audit-chain';

/**
 * Issue 8: the control plane's audit events become hash chains, one per tenant and one for
 * platform events (`platform`). Each row gets its chain, its sequence in it, the previous hash
 * and its own hash; `audit_chains` holds each chain's head (locked to append), what was sealed
 * and what retention removed; `audit_segments` indexes the sealed, archived segments. Existing
 * rows are chained here in their insertion order. A trigger then refuses UPDATE and DELETE,
 * except deletes of sealed rows by the retention path (`causeway.audit_retention` set).
 */
export class AuditChain1795570000000 implements MigrationInterface {
  name = 'AuditChain1795570000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE audit_events
        ADD COLUMN chain text,
        ADD COLUMN chain_seq bigint,
        ADD COLUMN prev_hash text,
        ADD COLUMN hash text`);
    await q.query(`
      CREATE TABLE audit_chains (
        chain text NOT NULL,
        tenant_id uuid,
        last_seq bigint NOT NULL DEFAULT 0,
        last_hash text NOT NULL DEFAULT '${GENESIS_HASH}',
        head_prev_hash text NOT NULL DEFAULT '${GENESIS_HASH}',
        sealed_seq bigint NOT NULL DEFAULT 0,
        sealed_hash text NOT NULL DEFAULT '${GENESIS_HASH}',
        pruned_seq bigint NOT NULL DEFAULT 0,
        pruned_hash text NOT NULL DEFAULT '${GENESIS_HASH}',
        CONSTRAINT audit_chains_pk PRIMARY KEY (chain),
        CONSTRAINT audit_chains_order CHECK (pruned_seq <= sealed_seq AND sealed_seq <= last_seq)
      )`);
    await q.query(`
      CREATE TABLE audit_segments (
        name text NOT NULL,
        chain text NOT NULL,
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        last_hash text NOT NULL,
        first_at timestamptz NOT NULL,
        last_at timestamptz NOT NULL,
        sealed_at timestamptz NOT NULL,
        key_id text NOT NULL,
        manifest text NOT NULL,
        signature text NOT NULL,
        CONSTRAINT audit_segments_pk PRIMARY KEY (name),
        CONSTRAINT audit_segments_chain_fk FOREIGN KEY (chain) REFERENCES audit_chains (chain),
        CONSTRAINT audit_segments_range UNIQUE (chain, first_seq)
      )`);
    await q.query(`
      CREATE TABLE audit_signing_keys (
        kid text NOT NULL,
        public_key_pem text NOT NULL,
        sealed_private_key text NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT audit_signing_keys_pk PRIMARY KEY (kid)
      )`);
    // Names this deployment's archive: segments live under <archive>/<id>/audit/..., so two
    // control planes (or a test and the demo) sharing a directory or bucket never mix chains.
    await q.query(`
      CREATE TABLE audit_archive_identity (
        id integer NOT NULL,
        archive_id uuid NOT NULL DEFAULT gen_random_uuid(),
        CONSTRAINT audit_archive_identity_pk PRIMARY KEY (id),
        CONSTRAINT audit_archive_identity_single CHECK (id = 1)
      )`);
    await q.query(`INSERT INTO audit_archive_identity (id) VALUES (1)`);
    await q.query(`CREATE TABLE audit_seal_runs (
        slot timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        CONSTRAINT audit_seal_runs_pk PRIMARY KEY (slot)
      )`);

    const heads = new Map<string, { tenantId: string | null; seq: number; hash: string }>();
    const batch = 5000;
    for (let after = 0; ;) {
      const rows = (await q.query(
        `SELECT seq, id, tenant_id, occurred_at, type, outcome, actor, reason, ip, details
           FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT ${batch}`,
        [after],
      )) as Array<AuditRowContent & { seq: string }>;
      if (rows.length === 0) break;
      for (const row of rows) {
        const chain = chainOf(row.tenant_id);
        const head = heads.get(chain) ?? { tenantId: row.tenant_id, seq: 0, hash: GENESIS_HASH };
        const seq = head.seq + 1;
        const hash = entryHash(seq, head.hash, auditEntryBody(row));
        await q.query(
          `UPDATE audit_events SET chain = $2, chain_seq = $3, prev_hash = $4, hash = $5 WHERE seq = $1`,
          [row.seq, chain, seq, head.hash, hash],
        );
        heads.set(chain, { tenantId: row.tenant_id, seq, hash });
      }
      after = Number(rows[rows.length - 1].seq);
    }
    for (const [chain, head] of heads) {
      await q.query(
        `INSERT INTO audit_chains (chain, tenant_id, last_seq, last_hash) VALUES ($1, $2, $3, $4)`,
        [chain, head.tenantId, head.seq, head.hash],
      );
    }
    await q.query(`
      ALTER TABLE audit_events
        ALTER COLUMN chain SET NOT NULL,
        ALTER COLUMN chain_seq SET NOT NULL,
        ALTER COLUMN prev_hash SET NOT NULL,
        ALTER COLUMN hash SET NOT NULL,
        ADD CONSTRAINT audit_events_chain_seq_unique UNIQUE (chain, chain_seq)`);
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('causeway.audit_retention', true) = 'on'
           AND EXISTS (SELECT 1 FROM audit_chains c
                        WHERE c.chain = OLD.chain AND OLD.chain_seq <= c.sealed_seq) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`
      CREATE FUNCTION audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit events are append-only (TRUNCATE refused)'
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate()`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
