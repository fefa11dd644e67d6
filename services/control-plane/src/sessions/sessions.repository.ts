import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { returnedRows } from '../common/returned-rows';
import { hasSecondFactorSql } from '../users/users.repository';

export interface SessionRow {
  id: string;
  token_hash: string;
  user_id: string;
  tenant_id: string;
  auth_method: string;
  second_factor: boolean;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

/** Session rows. Every read or change of a user's sessions names the tenant and the user. */
@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Opens a session only in a tenant that is not being deleted. The tenant row is share-locked,
   * so a deletion running at the same moment either waits for this session (and ends it) or
   * wins (and no session is made).
   */
  async insert(row: Omit<SessionRow, 'revoked_at' | 'revoked_reason'>): Promise<void> {
    const inserted = returnedRows<{ id: string }>(
      await this.db.query(
        `INSERT INTO sessions (id, token_hash, user_id, tenant_id, auth_method, second_factor, ip,
           user_agent, created_at, last_seen_at, absolute_expires_at)
         SELECT $1::uuid, $2::text, $3::uuid, $4::uuid, $5::text, $6::boolean, $7::text,
           $8::text, $9::timestamptz, $10::timestamptz, $11::timestamptz
         WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $4 AND state = 'active' FOR SHARE)
         RETURNING id`,
        [
          row.id,
          row.token_hash,
          row.user_id,
          row.tenant_id,
          row.auth_method,
          row.second_factor,
          row.ip,
          row.user_agent,
          row.created_at,
          row.last_seen_at,
          row.absolute_expires_at,
        ],
      ),
    );
    if (inserted.length === 0) {
      throw new CausewayError('not_found', 'This tenant no longer exists.');
    }
  }

  /** The session, and whether its user has a second factor of their own. */
  async byTokenHash(
    tokenHash: string,
  ): Promise<(SessionRow & { user_has_second_factor: boolean }) | undefined> {
    const rows = await this.db.query<Array<SessionRow & { user_has_second_factor: boolean }>>(
      `SELECT s.*, ${hasSecondFactorSql('s.user_id')} AS user_has_second_factor
       FROM sessions s WHERE s.token_hash = $1`,
      [tokenHash],
    );
    return rows[0];
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.db.query('UPDATE sessions SET last_seen_at = $1 WHERE id = $2', [at, id]);
  }

  /** Marks an open session confirmed by a second factor and gives it a new token hash. */
  async confirmSecondFactor(tenantId: string, id: string, tokenHash: string): Promise<boolean> {
    const rows = await this.db.query<Array<{ id: string }>>(
      `UPDATE sessions SET second_factor = true, token_hash = $1
       WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL
       RETURNING id`,
      [tokenHash, tenantId, id],
    );
    return returnedRows(rows).length > 0;
  }

  /** Open sessions of one user, newest first. */
  listOpen(tenantId: string, userId: string, now: Date, idleMs: number): Promise<SessionRow[]> {
    return this.db.query<SessionRow[]>(
      `SELECT * FROM sessions
       WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL
         AND absolute_expires_at > $3 AND last_seen_at > $4
       ORDER BY created_at DESC`,
      [tenantId, userId, now, new Date(now.getTime() - idleMs)],
    );
  }

  /** Ends one session of this user; false when it is not theirs or already ended. */
  async revokeOne(
    tenantId: string,
    userId: string,
    id: string,
    at: Date,
    reason: string,
  ): Promise<boolean> {
    const rows = await this.db.query<Array<{ id: string }>>(
      `UPDATE sessions SET revoked_at = $1, revoked_reason = $2
       WHERE tenant_id = $3 AND user_id = $4 AND id = $5 AND revoked_at IS NULL
       RETURNING id`,
      [at, reason, tenantId, userId, id],
    );
    return returnedRows(rows).length > 0;
  }

  /** Ends every open session of this user; returns how many. */
  async revokeAll(tenantId: string, userId: string, at: Date, reason: string): Promise<number> {
    const rows = await this.db.query<Array<{ id: string }>>(
      `UPDATE sessions SET revoked_at = $1, revoked_reason = $2
       WHERE tenant_id = $3 AND user_id = $4 AND revoked_at IS NULL
       RETURNING id`,
      [at, reason, tenantId, userId],
    );
    return returnedRows(rows).length;
  }
}
