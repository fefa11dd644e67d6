import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each tenant's identity connectors (settings in clear, the client secret sealed) and the
 * sign-ins in progress, kept server-side until the identity provider sends the user back.
 */
export class IdentityProviders1795470000000 implements MigrationInterface {
  name = 'IdentityProviders1795470000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE identity_providers (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        settings jsonb NOT NULL,
        sealed_secret text,
        enabled boolean NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT identity_providers_pk PRIMARY KEY (id),
        CONSTRAINT identity_providers_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
        CONSTRAINT identity_providers_kind_check CHECK (kind IN ('oidc', 'saml')),
        CONSTRAINT identity_providers_tenant_name_unique UNIQUE (tenant_id, name)
      )`);
    // A person is the identity provider's subject, not an e-mail address: e-mail only links a
    // first sign-in to an existing user when the provider says it is verified.
    await q.query(`
      CREATE TABLE user_identities (
        provider_id uuid NOT NULL,
        subject text NOT NULL,
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT user_identities_pk PRIMARY KEY (provider_id, subject),
        CONSTRAINT user_identities_provider_fk FOREIGN KEY (provider_id)
          REFERENCES identity_providers (id) ON DELETE CASCADE,
        CONSTRAINT user_identities_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
      )`);
    await q.query(`
      CREATE TABLE login_attempts (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        provider_id uuid NOT NULL,
        state_hash text NOT NULL,
        pending jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz,
        CONSTRAINT login_attempts_pk PRIMARY KEY (id),
        CONSTRAINT login_attempts_state_hash_unique UNIQUE (state_hash),
        CONSTRAINT login_attempts_provider_fk FOREIGN KEY (provider_id)
          REFERENCES identity_providers (id) ON DELETE CASCADE
      )`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
