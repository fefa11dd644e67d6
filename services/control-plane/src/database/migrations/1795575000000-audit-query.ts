import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 8, reading the trail: indexes for the query API's filters (each with `seq` last, so a
 * filtered page is read in order from the index), and `audit_ip_inet`, which reads a stored
 * address as `inet` for the `ip` filter (IPv4-mapped IPv6 as IPv4; anything unreadable as
 * NULL rather than an error). Addresses are not indexed: the function is evaluated only by
 * queries, never on the write path, so an odd address can never make recording fail.
 */
export class AuditQuery1795575000000 implements MigrationInterface {
  name = 'AuditQuery1795575000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION audit_ip_inet(address text) RETURNS inet
      LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
      DECLARE
        parsed inet;
      BEGIN
        parsed := host(address::inet)::inet;
        IF family(parsed) = 6 AND parsed <<= '::ffff:0.0.0.0/96'::inet THEN
          RETURN '0.0.0.0'::inet + (parsed - '::ffff:0.0.0.0'::inet);
        END IF;
        RETURN parsed;
      EXCEPTION WHEN others THEN
        RETURN NULL;
      END
      $$`);
    await q.query(
      `CREATE INDEX audit_events_tenant_type_ix ON audit_events (tenant_id, type, seq)`,
    );
    await q.query(
      `CREATE INDEX audit_events_tenant_actor_ix ON audit_events (tenant_id, actor, seq)`,
    );
    await q.query(
      `CREATE INDEX audit_events_tenant_time_ix ON audit_events (tenant_id, occurred_at)`,
    );
    await q.query(
      `CREATE INDEX audit_events_tenant_workspace_ix
         ON audit_events (tenant_id, (details->>'workspaceId'), seq)
         WHERE (details->>'workspaceId') IS NOT NULL`,
    );
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
