import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants and the nodes registered to them. Forward-only; constraints are named. */
export class Initial1795400000000 implements MigrationInterface {
  name = 'Initial1795400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid NOT NULL,
        slug text NOT NULL,
        name text NOT NULL,
        region text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT tenants_pk PRIMARY KEY (id),
        CONSTRAINT tenants_slug_uq UNIQUE (slug),
        CONSTRAINT tenants_slug_format_ck CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
        CONSTRAINT tenants_region_format_ck CHECK (region ~ '^[a-z0-9][a-z0-9-]{1,31}$')
      )`);
    await q.query(`
      CREATE TABLE nodes (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        name text NOT NULL,
        region text NOT NULL,
        state text NOT NULL DEFAULT 'registered',
        version text,
        hostname text,
        started_at timestamptz,
        last_heartbeat_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT nodes_pk PRIMARY KEY (id),
        CONSTRAINT nodes_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT,
        CONSTRAINT nodes_tenant_name_uq UNIQUE (tenant_id, name),
        CONSTRAINT nodes_state_ck CHECK (state IN ('registered', 'up', 'stopping')),
        CONSTRAINT nodes_name_format_ck CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$')
      )`);
    await q.query(`CREATE INDEX nodes_tenant_ix ON nodes (tenant_id)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
