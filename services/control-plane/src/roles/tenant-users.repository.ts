import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { returnedRows } from '../common/returned-rows';
import type { UserRow } from '../users/users.repository';

/** The columns the users admin shows: never a password hash or SSO details. */
export type AdminUserRow = Pick<
  UserRow,
  'id' | 'email' | 'display_name' | 'kind' | 'disabled_at' | 'created_at'
>;

const COLUMNS = 'id, email, display_name, kind, disabled_at, created_at';

/**
 * Users as the tenant's administrators manage them (list, add, disable, enable). Every method
 * takes the tenant id first; sign-in and sessions read users through UsersRepository.
 */
@Injectable()
export class TenantUsersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  list(tenantId: string): Promise<AdminUserRow[]> {
    return this.db.query<AdminUserRow[]>(
      `SELECT ${COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at, email`,
      [tenantId],
    );
  }

  async find(tenantId: string, id: string): Promise<AdminUserRow | undefined> {
    const rows = await this.db.query<AdminUserRow[]>(
      `SELECT ${COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return rows[0];
  }

  /** The new user, or undefined when the tenant already has a user with this email. */
  async insert(
    tenantId: string,
    row: { id: string; email: string; displayName: string | null; kind: 'member' | 'partner' },
    now: Date,
  ): Promise<AdminUserRow | undefined> {
    const rows = await this.db.query<AdminUserRow[]>(
      `INSERT INTO users (id, tenant_id, email, display_name, kind, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, lower(email)) DO NOTHING
       RETURNING ${COLUMNS}`,
      [row.id, tenantId, row.email, row.displayName, row.kind, now],
    );
    return rows[0];
  }

  /** Sets or clears disabled_at; the user as it is now, or undefined if not in the tenant. */
  async setDisabled(
    tenantId: string,
    id: string,
    disabledAt: Date | null,
  ): Promise<AdminUserRow | undefined> {
    const result = await this.db.query<[AdminUserRow[], number]>(
      `UPDATE users SET disabled_at = CASE WHEN $3::timestamptz IS NULL THEN NULL
                                           ELSE coalesce(disabled_at, $3::timestamptz) END
       WHERE tenant_id = $1 AND id = $2
       RETURNING ${COLUMNS}`,
      [tenantId, id, disabledAt],
    );
    return returnedRows<AdminUserRow>(result)[0];
  }
}
