import type { DataSource } from 'typeorm';
import type { Clock } from '../../common/clock';
import { returnedRows } from '../../common/returned-rows';
import type { SamlReplayStore, SamlRequestStore } from '../saml';

/**
 * SP-initiated request ids in PostgreSQL (`saml_requests`), so every control-plane replica
 * recognises the answer to a request another one sent. Expiry is judged by the injected clock,
 * the same one the connector uses.
 */
export class PgSamlRequestStore implements SamlRequestStore {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  async save(tenantId: string, requestId: string, createdAt: Date, expiresAt: Date): Promise<void> {
    // Expired ids of the tenant go as new ones arrive: the table stays the size of the logins
    // in flight.
    await this.db.query('DELETE FROM saml_requests WHERE tenant_id = $1 AND expires_at <= $2', [
      tenantId,
      this.clock.now(),
    ]);
    await this.db.query(
      `INSERT INTO saml_requests (tenant_id, request_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, request_id) DO UPDATE
         SET created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
      [tenantId, requestId, createdAt, expiresAt],
    );
  }

  async get(tenantId: string, requestId: string): Promise<Date | null> {
    const rows = await this.db.query<Array<{ created_at: Date }>>(
      `SELECT created_at FROM saml_requests
       WHERE tenant_id = $1 AND request_id = $2 AND expires_at > $3`,
      [tenantId, requestId, this.clock.now()],
    );
    return rows[0]?.created_at ?? null;
  }

  async remove(tenantId: string, requestId: string): Promise<void> {
    await this.db.query('DELETE FROM saml_requests WHERE tenant_id = $1 AND request_id = $2', [
      tenantId,
      requestId,
    ]);
  }
}

/**
 * Used assertion ids in PostgreSQL (`saml_used_assertions`). `consume` is one statement: the
 * primary key serialises two concurrent uses of one id, and the loser's ON CONFLICT branch sees
 * the winner's unexpired row, updates nothing and returns no row. An expired entry is taken over
 * in place, so the table needs no sweeper for correctness.
 */
export class PgSamlReplayStore implements SamlReplayStore {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  async consume(tenantId: string, assertionId: string, expiresAt: Date): Promise<boolean> {
    type Row = { assertion_id: string };
    const result = await this.db.query<Row[] | [Row[], number]>(
      `INSERT INTO saml_used_assertions (tenant_id, assertion_id, expires_at)
       VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, assertion_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE saml_used_assertions.expires_at <= $4
       RETURNING assertion_id`,
      [tenantId, assertionId, expiresAt, this.clock.now()],
    );
    return returnedRows(result).length === 1;
  }
}
