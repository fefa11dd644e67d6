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
