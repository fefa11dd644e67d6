import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Anomaly alerts: each tenant's alert settings (webhook with its sealed signing secret, emails,
 * trusted networks, thresholds), the cool-down per rule and subject that stops alert storms,
 * and the durable outbox of deliveries (webhook, email) so a crash loses none. The index on
 * audit_events serves the rules' look-backs (download volume, failed sign-ins).
 */
export class Alerts1795580000000 implements MigrationInterface {
  name = 'Alerts1795580000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alert_settings (
        tenant_id uuid NOT NULL,
        webhook_url text,
        sealed_webhook_secret text,
        emails text[] NOT NULL DEFAULT '{}',
        trusted_networks text[] NOT NULL DEFAULT '{}',
        volume_multiplier integer,
        volume_floor_bytes bigint,
        sign_in_burst_threshold integer,
        updated_at timestamptz NOT NULL,
        CONSTRAINT alert_settings_pk PRIMARY KEY (tenant_id),
        CONSTRAINT alert_settings_tenant_fk FOREIGN KEY (tenant_id)
          REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT alert_settings_webhook_secret_check
          CHECK (webhook_url IS NULL OR sealed_webhook_secret IS NOT NULL)
      )`);
    await q.query(`
      CREATE TABLE alert_cooldowns (
        tenant_id uuid NOT NULL,
        rule text NOT NULL,
        subject text NOT NULL,
        last_fired_at timestamptz NOT NULL,
        CONSTRAINT alert_cooldowns_pk PRIMARY KEY (tenant_id, rule, subject),
        CONSTRAINT alert_cooldowns_tenant_fk FOREIGN KEY (tenant_id)
          REFERENCES tenants (id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE alert_deliveries (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        alert_id uuid NOT NULL,
        channel text NOT NULL,
        target text,
        payload jsonb NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        delivered_at timestamptz,
        gave_up_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL,
        CONSTRAINT alert_deliveries_pk PRIMARY KEY (id),
        CONSTRAINT alert_deliveries_tenant_fk FOREIGN KEY (tenant_id)
          REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT alert_deliveries_channel_check CHECK (channel IN ('webhook', 'email'))
      )`);
    await q.query(
      `CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at)
       WHERE delivered_at IS NULL AND gave_up_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX audit_events_tenant_type_time ON audit_events (tenant_id, type, occurred_at)`,
    );
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
