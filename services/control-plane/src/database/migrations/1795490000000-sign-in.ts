import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the remaining sign-in methods keep server-side: the tenant's sign-in policy, local
 * password hashes, second factors, emailed codes, failure counters for throttling, SAML request
 * ids and used assertion ids, and the audit events of every sign-in success and failure.
 */
export class SignIn1795490000000 implements MigrationInterface {
  name = 'SignIn1795490000000';

  async up(q: QueryRunner): Promise<void> {
    // SSO-first: passwords are off until an admin turns them on; emailed codes are on.
    await q.query(`
      ALTER TABLE tenants
        ADD COLUMN passwords_allowed boolean NOT NULL DEFAULT false,
        ADD COLUMN email_codes_allowed boolean NOT NULL DEFAULT true,
        ADD COLUMN require_second_factor boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE users ADD COLUMN password_hash text`);
    await q.query(`ALTER TABLE users ADD COLUMN sso_roles text[] NOT NULL DEFAULT '{}'`);
    // The TOTP secret is sealed (CAUSEWAY_CA_SEAL_KEY); confirmed_at is null until the user
    // proved the app works, and only a confirmed enrolment counts as a second factor.
    await q.query(`
      CREATE TABLE totp_enrolments (
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        sealed_secret text NOT NULL,
        last_used_step bigint,
        created_at timestamptz NOT NULL,
        confirmed_at timestamptz,
        CONSTRAINT totp_enrolments_pk PRIMARY KEY (user_id),
        CONSTRAINT totp_enrolments_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE recovery_codes (
        id uuid NOT NULL,
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        code_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT recovery_codes_pk PRIMARY KEY (id),
        CONSTRAINT recovery_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX recovery_codes_user ON recovery_codes (user_id)`);
    // Only an HMAC of each code is stored.
    await q.query(`
      CREATE TABLE email_codes (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        email text NOT NULL,
        code_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        used_at timestamptz,
        CONSTRAINT email_codes_pk PRIMARY KEY (id),
        CONSTRAINT email_codes_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
      )`);
    await q.query(`CREATE INDEX email_codes_address ON email_codes (tenant_id, email, created_at)`);
    await q.query(`
      CREATE TABLE sign_in_failures (
        tenant_id uuid NOT NULL,
        subject text NOT NULL,
        failures timestamptz[] NOT NULL DEFAULT '{}',
        locked_until timestamptz,
        CONSTRAINT sign_in_failures_pk PRIMARY KEY (tenant_id, subject)
      )`);
    await q.query(`
      CREATE TABLE saml_requests (
        tenant_id uuid NOT NULL,
        request_id text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT saml_requests_pk PRIMARY KEY (tenant_id, request_id)
      )`);
    await q.query(`
      CREATE TABLE saml_used_assertions (
        tenant_id uuid NOT NULL,
        assertion_id text NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT saml_used_assertions_pk PRIMARY KEY (tenant_id, assertion_id)
      )`);
    // Until issue 8's hash-chained trail takes over, the control plane's audit events live here.
    await q.query(`
      CREATE TABLE audit_events (
        seq bigserial NOT NULL,
        id uuid NOT NULL,
        tenant_id uuid,
        occurred_at timestamptz NOT NULL,
        type text NOT NULL,
        outcome text NOT NULL,
        actor text,
        reason text,
        ip text,
        details jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT audit_events_pk PRIMARY KEY (seq),
        CONSTRAINT audit_events_outcome_check CHECK (outcome IN ('success', 'failure'))
      )`);
    await q.query(`CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
