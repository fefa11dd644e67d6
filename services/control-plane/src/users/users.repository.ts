import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

export interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string | null;
  created_at: Date;
  disabled_at: Date | null;
  /** argon2id hash of a local password (only where the tenant allows passwords). */
  password_hash: string | null;
  /** Roles the tenant's SSO attribute mapping gave at the last sign-in. */
  sso_roles: string[];
  /** Groups the identity provider named at the last sign-in (roles can be assigned to them). */
  sso_groups: string[];
  /** `partner`: a person from another company, with roles on workspaces or folders only. */
  kind: 'member' | 'partner';
}

/**
 * SQL that is true when the user `userIdColumn` names has a second factor: a confirmed
 * authenticator app, or unused recovery codes (which outlive an app being replaced). Such a
 * user must confirm every session with it, whatever the tenant requires.
 */
export function hasSecondFactorSql(userIdColumn: string): string {
  return `(EXISTS (SELECT 1 FROM totp_enrolments t
                   WHERE t.user_id = ${userIdColumn} AND t.confirmed_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM recovery_codes r
                   WHERE r.user_id = ${userIdColumn} AND r.used_at IS NULL))`;
}

/** People of a tenant. Every method takes the tenant id: a user is only ever found in one tenant. */
@Injectable()
export class UsersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async findById(tenantId: string, id: string): Promise<UserRow | undefined> {
    const rows = await this.db.query<UserRow[]>(
      'SELECT * FROM users WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return rows[0];
  }

  async hasSecondFactor(tenantId: string, id: string): Promise<boolean> {
    const rows = await this.db.query<Array<{ has: boolean }>>(
      `SELECT ${hasSecondFactorSql('u.id')} AS has FROM users u WHERE u.tenant_id = $1 AND u.id = $2`,
      [tenantId, id],
    );
    return rows[0]?.has === true;
  }

  async findByEmail(tenantId: string, email: string): Promise<UserRow | undefined> {
    const rows = await this.db.query<UserRow[]>(
      'SELECT * FROM users WHERE tenant_id = $1 AND lower(email) = lower($2)',
      [tenantId, email],
    );
    return rows[0];
  }

  /** The user with this email in the tenant, created on first sign-in. */
  async findOrCreate(
    tenantId: string,
    email: string,
    displayName: string | null,
    now: Date,
  ): Promise<UserRow> {
    await this.db.query(
      `INSERT INTO users (id, tenant_id, email, display_name, created_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, lower(email)) DO NOTHING`,
      [randomUUID(), tenantId, email, displayName, now],
    );
    return (await this.findByEmail(tenantId, email)) as UserRow;
  }
}
