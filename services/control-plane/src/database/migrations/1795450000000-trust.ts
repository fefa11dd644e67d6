import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trust on the bridge: the control plane's signing keys (Ed25519, private halves sealed), the
 * key set nodes pin (signed by the CA), each node's certificate and signing keys (current and
 * the one before a rotation), and who each outbox command acts for.
 */
export class Trust1795450000000 implements MigrationInterface {
  name = 'Trust1795450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE signing_keys (
        kid text NOT NULL,
        public_key_pem text NOT NULL,
        sealed_private_key text,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        activated_at timestamptz,
        retired_at timestamptz,
        CONSTRAINT signing_keys_pk PRIMARY KEY (kid),
        CONSTRAINT signing_keys_status_check CHECK (status IN ('next', 'active', 'retired'))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE status = 'active'`,
    );
    await q.query(`
      CREATE TABLE signing_key_set (
        id integer NOT NULL,
        version integer NOT NULL,
        document text NOT NULL,
        signature text NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT signing_key_set_pk PRIMARY KEY (id),
        CONSTRAINT signing_key_set_single_row CHECK (id = 1)
      )`);
    await q.query(`
      ALTER TABLE nodes
        ADD COLUMN cert_pem text,
        ADD COLUMN signing_key_pem text,
        ADD COLUMN previous_signing_key_pem text,
        ADD COLUMN renewed_at timestamptz`);
    await q.query(`ALTER TABLE outbox ADD COLUMN principal jsonb`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
