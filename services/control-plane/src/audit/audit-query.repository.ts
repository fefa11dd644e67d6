import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AuditWhere } from './audit-query';
import { VIEW_COLUMNS, type AuditViewRow } from './audit-view';
import type { IdentityKind } from './pseudonyms';

/**
 * Reads of the audit trail. Every method takes a tenant id or a WHERE clause built for one
 * (`whereOf`), so no read can cross tenants. Order is always `seq`: stable, and what `after`
 * pages on.
 */
@Injectable()
export class AuditQueryRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Up to `limit` events matching `where`, after `afterSeq` and up to `upToSeq` if given. */
  async page(
    where: AuditWhere,
    limit: number,
    bounds: { afterSeq?: number; upToSeq?: number } = {},
  ): Promise<AuditViewRow[]> {
    const params = [...where.params];
    let sql = where.sql;
    if (bounds.afterSeq !== undefined) {
      params.push(bounds.afterSeq);
      sql += ` AND seq > $${params.length}`;
    }
    if (bounds.upToSeq !== undefined) {
      params.push(bounds.upToSeq);
      sql += ` AND seq <= $${params.length}`;
    }
    params.push(limit);
    return this.db.query<AuditViewRow[]>(
      `SELECT ${VIEW_COLUMNS} FROM audit_events WHERE ${sql} ORDER BY seq LIMIT $${params.length}`,
      params,
    );
  }

  /** The last sequence number of the tenant now: an export reads up to it, a fixed snapshot. */
  async lastSeq(tenantId: string): Promise<number> {
    const rows = await this.db.query<Array<{ seq: string | null }>>(
      'SELECT max(seq) AS seq FROM audit_events WHERE tenant_id = $1',
      [tenantId],
    );
    return Number(rows[0]?.seq ?? 0);
  }

  /** The distinct `user:` or `email:` actors of the tenant (to resolve a pseudonym filter). */
  async actorsOfKind(tenantId: string, kind: IdentityKind): Promise<string[]> {
    const rows = await this.db.query<Array<{ actor: string }>>(
      `SELECT DISTINCT actor FROM audit_events WHERE tenant_id = $1 AND actor LIKE $2`,
      [tenantId, `${kind}:%`],
    );
    return rows.map((r) => r.actor);
  }
}
