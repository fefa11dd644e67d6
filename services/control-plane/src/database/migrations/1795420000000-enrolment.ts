import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Join tokens, the control plane's certificate authority, and each node's certificate. */
export class Enrolment1795420000000 implements MigrationInterface {
  name = 'Enrolment1795420000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE join_tokens (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        region text NOT NULL,
        token_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        used_by_node uuid,
        revoked_at timestamptz,
        CONSTRAINT join_tokens_pk PRIMARY KEY (id),
        CONSTRAINT join_tokens_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT join_tokens_hash_uq UNIQUE (token_hash)
      )`);
    await q.query(`
      CREATE TABLE certificate_authority (
        id integer NOT NULL,
        cert_pem text NOT NULL,
        sealed_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT certificate_authority_pk PRIMARY KEY (id),
        CONSTRAINT certificate_authority_single_ck CHECK (id = 1)
      )`);
    await q.query(
      `ALTER TABLE nodes ADD COLUMN cert_serial text, ADD COLUMN cert_not_after timestamptz`,
    );
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
