import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Workspaces, the transactional outbox of commands to nodes, and recorded dead letters. */
export class OutboxWorkspacesDeadLetters1795410000000 implements MigrationInterface {
  name = 'OutboxWorkspacesDeadLetters1795410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE workspaces (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        node_id uuid NOT NULL,
        name text NOT NULL,
        state text NOT NULL DEFAULT 'provisioning',
        error_code text,
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT workspaces_pk PRIMARY KEY (id),
        CONSTRAINT workspaces_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT,
        CONSTRAINT workspaces_node_fk FOREIGN KEY (node_id) REFERENCES nodes (id) ON DELETE RESTRICT,
        CONSTRAINT workspaces_tenant_name_uq UNIQUE (tenant_id, name),
        CONSTRAINT workspaces_state_ck CHECK (state IN ('provisioning', 'ready', 'failed'))
      )`);
    await q.query(`
      CREATE TABLE outbox (
        id uuid NOT NULL,
        node_id uuid NOT NULL,
        method text NOT NULL,
        payload jsonb NOT NULL,
        request_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        deadline timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        published_at timestamptz,
        completed_at timestamptz,
        result jsonb,
        error_code text,
        error_message text,
        CONSTRAINT outbox_pk PRIMARY KEY (id),
        CONSTRAINT outbox_node_fk FOREIGN KEY (node_id) REFERENCES nodes (id) ON DELETE RESTRICT
      )`);
    await q.query(
      `CREATE INDEX outbox_unpublished_ix ON outbox (next_attempt_at) WHERE published_at IS NULL`,
    );
    await q.query(`
      CREATE TABLE dead_letters (
        id uuid NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        reason text NOT NULL,
        detail text NOT NULL,
        node_id uuid,
        source_queue text,
        message_id text,
        attempts integer,
        content_type text,
        headers jsonb NOT NULL,
        body bytea NOT NULL,
        replayed_at timestamptz,
        replay_count integer NOT NULL DEFAULT 0,
        CONSTRAINT dead_letters_pk PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX dead_letters_received_ix ON dead_letters (received_at DESC)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
