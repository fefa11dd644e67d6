import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { returnedRows } from '../../common/returned-rows';
import type { ThrottleKey, ThrottleStore } from '../mfa/throttle';

/**
 * Failure counters and locks in `sign_in_failures`, shared by every control-plane instance.
 * Each method is one statement, so concurrent failures on several replicas are all counted.
 */
@Injectable()
export class PgThrottleStore implements ThrottleStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async recordFailure(key: ThrottleKey, nowMs: number, windowStartMs: number): Promise<number> {
    // One upsert: the row lock taken by ON CONFLICT DO UPDATE serialises concurrent failures.
    const rows = returnedRows(
      await this.db.query<Array<{ count: number }> | [Array<{ count: number }>, number]>(
        `INSERT INTO sign_in_failures (tenant_id, subject, failures)
         VALUES ($1, $2, ARRAY[$3::timestamptz])
         ON CONFLICT (tenant_id, subject) DO UPDATE SET failures = array_append(
           ARRAY(SELECT f FROM unnest(sign_in_failures.failures) AS f WHERE f > $4::timestamptz),
           $3::timestamptz)
         RETURNING cardinality(failures)::int AS count`,
        [key.tenantId, key.subject, new Date(nowMs), new Date(windowStartMs)],
      ),
    );
    return Number(rows[0]?.count ?? 0);
  }

  async lock(key: ThrottleKey, untilMs: number): Promise<void> {
    await this.db.query(
      `INSERT INTO sign_in_failures (tenant_id, subject, failures, locked_until)
       VALUES ($1, $2, '{}', $3)
       ON CONFLICT (tenant_id, subject) DO UPDATE SET failures = '{}', locked_until = $3`,
      [key.tenantId, key.subject, new Date(untilMs)],
    );
  }

  async lockedUntil(key: ThrottleKey): Promise<number | undefined> {
    const rows = await this.db.query<Array<{ locked_until: Date | null }>>(
      'SELECT locked_until FROM sign_in_failures WHERE tenant_id = $1 AND subject = $2',
      [key.tenantId, key.subject],
    );
    const until = rows[0]?.locked_until;
    return until ? until.getTime() : undefined;
  }

  async reset(key: ThrottleKey): Promise<void> {
    await this.db.query('DELETE FROM sign_in_failures WHERE tenant_id = $1 AND subject = $2', [
      key.tenantId,
      key.subject,
    ]);
  }
}
