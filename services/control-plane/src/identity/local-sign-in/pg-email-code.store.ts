import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { returnedRows } from '../../common/returned-rows';
import type { EmailCodeRecord, EmailCodeStore } from '../email-codes/email-code.store';

interface Row {
  id: string;
  tenant_id: string;
  email: string;
  code_hash: string;
  created_at: Date;
  expires_at: Date;
  attempts: number;
  used_at: Date | null;
}

/**
 * Emailed sign-in codes in `email_codes` (only the HMAC of each code). `recordAttempt` and
 * `markUsed` are single conditional UPDATEs, so parallel guesses are all counted and a code is
 * used at most once whatever the number of instances.
 */
@Injectable()
export class PgEmailCodeStore implements EmailCodeStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(record: EmailCodeRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO email_codes (id, tenant_id, email, code_hash, created_at, expires_at, attempts, used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        record.id,
        record.tenantId,
        record.email,
        record.hash,
        record.createdAt,
        record.expiresAt,
        record.attempts,
        record.usedAt ?? null,
      ],
    );
  }

  async countIssuedSince(tenantId: string, email: string, since: Date): Promise<number> {
    const rows = await this.db.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM email_codes
       WHERE tenant_id = $1 AND email = $2 AND created_at > $3`,
      [tenantId, email, since],
    );
    return Number(rows[0]?.count ?? 0);
  }

  async latest(tenantId: string, email: string): Promise<EmailCodeRecord | undefined> {
    const rows = await this.db.query<Row[]>(
      `SELECT * FROM email_codes WHERE tenant_id = $1 AND email = $2
       ORDER BY created_at DESC LIMIT 1`,
      [tenantId, email],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: row.id,
      tenantId: row.tenant_id,
      email: row.email,
      hash: row.code_hash,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      attempts: row.attempts,
      ...(row.used_at ? { usedAt: row.used_at } : {}),
    };
  }

  async recordAttempt(tenantId: string, id: string): Promise<number> {
    const rows = returnedRows(
      await this.db.query<Array<{ attempts: number }> | [Array<{ attempts: number }>, number]>(
        `UPDATE email_codes SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2
         RETURNING attempts`,
        [tenantId, id],
      ),
    );
    return rows[0] ? Number(rows[0].attempts) : Number.POSITIVE_INFINITY;
  }

  async markUsed(tenantId: string, id: string, at: Date): Promise<boolean> {
    const rows = returnedRows(
      await this.db.query<Array<{ id: string }> | [Array<{ id: string }>, number]>(
        `UPDATE email_codes SET used_at = $3
         WHERE tenant_id = $1 AND id = $2 AND used_at IS NULL RETURNING id`,
        [tenantId, id, at],
      ),
    );
    return rows.length > 0;
  }
}
