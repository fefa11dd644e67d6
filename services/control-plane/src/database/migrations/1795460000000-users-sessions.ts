import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * People who sign in, and their sessions. Sessions live server-side: the cookie carries only a
 * random token whose SHA-256 is stored here, so a database read leaks no usable session.
 */
export class UsersSessions1795460000000 implements MigrationInterface {
  name = 'UsersSessions1795460000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        email text NOT NULL,
        display_name text,
        created_at timestamptz NOT NULL,
        disabled_at timestamptz,
        CONSTRAINT users_pk PRIMARY KEY (id),
        CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX users_tenant_email_unique ON users (tenant_id, lower(email))`,
    );
    await q.query(`
      CREATE TABLE sessions (
        id uuid NOT NULL,
        token_hash text NOT NULL,
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        auth_method text NOT NULL,
        second_factor boolean NOT NULL,
        ip text,
        user_agent text,
        created_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        absolute_expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text,
        CONSTRAINT sessions_pk PRIMARY KEY (id),
        CONSTRAINT sessions_token_hash_unique UNIQUE (token_hash),
        CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
        CONSTRAINT sessions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
      )`);
    await q.query(`CREATE INDEX sessions_user_open ON sessions (user_id) WHERE revoked_at IS NULL`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
