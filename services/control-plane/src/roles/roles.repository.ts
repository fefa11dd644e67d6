import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { ScopeType } from '@causeway/contracts';
import { returnedRows } from '../common/returned-rows';

export interface CustomRoleRow {
  id: string;
  tenant_id: string;
  name: string;
  template: string;
  description: string;
  permissions: string[];
  created_at: Date;
  created_by: string;
}

export interface AssignmentRow {
  id: string;
  tenant_id: string;
  role_name: string;
  role_id: string | null;
  principal: string;
  scope_type: ScopeType;
  workspace_id: string | null;
  folder_path: string | null;
  created_at: Date;
  created_by: string;
}

export interface AssignmentFilter {
  principals?: string[];
  workspaceId?: string;
}

/** True for PostgreSQL's unique_violation. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

/**
 * Custom roles and role assignments. Every method takes the tenant id first: a role or an
 * assignment is only ever found within its own tenant.
 */
@Injectable()
export class RolesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  listRoles(tenantId: string): Promise<CustomRoleRow[]> {
    return this.db.query<CustomRoleRow[]>(
      'SELECT * FROM roles WHERE tenant_id = $1 ORDER BY name',
      [tenantId],
    );
  }

  async findRole(tenantId: string, name: string): Promise<CustomRoleRow | undefined> {
    const rows = await this.db.query<CustomRoleRow[]>(
      'SELECT * FROM roles WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    return rows[0];
  }

  /** Throws PostgreSQL's unique violation on a duplicate name (see isUniqueViolation). */
  async insertRole(tenantId: string, row: Omit<CustomRoleRow, 'tenant_id'>): Promise<void> {
    await this.db.query(
      `INSERT INTO roles (id, tenant_id, name, template, description, permissions, created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        row.id,
        tenantId,
        row.name,
        row.template,
        row.description,
        row.permissions,
        row.created_at,
        row.created_by,
      ],
    );
  }

  /** Deletes the role and (by the foreign key's cascade) its assignments; their count. */
  async deleteRole(tenantId: string, id: string): Promise<number> {
    return this.db.transaction(async (m) => {
      const counted = await m.query<Array<{ n: string }>>(
        'SELECT count(*) AS n FROM role_assignments WHERE tenant_id = $1 AND role_id = $2',
        [tenantId, id],
      );
      await m.query('DELETE FROM roles WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return Number(counted[0]?.n ?? 0);
    });
  }

  listAssignments(tenantId: string, filter: AssignmentFilter = {}): Promise<AssignmentRow[]> {
    return this.db.query<AssignmentRow[]>(
      `SELECT * FROM role_assignments
       WHERE tenant_id = $1
         AND ($2::text[] IS NULL OR principal = ANY($2))
         AND ($3::uuid IS NULL OR workspace_id = $3)
       ORDER BY created_at, id`,
      [tenantId, filter.principals ?? null, filter.workspaceId ?? null],
    );
  }

  async findAssignment(tenantId: string, id: string): Promise<AssignmentRow | undefined> {
    const rows = await this.db.query<AssignmentRow[]>(
      'SELECT * FROM role_assignments WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return rows[0];
  }

  /** Throws PostgreSQL's unique violation on a duplicate (see isUniqueViolation). */
  async insertAssignment(tenantId: string, row: Omit<AssignmentRow, 'tenant_id'>): Promise<void> {
    await this.db.query(
      `INSERT INTO role_assignments
         (id, tenant_id, role_name, role_id, principal, scope_type, workspace_id, folder_path,
          created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        row.id,
        tenantId,
        row.role_name,
        row.role_id,
        row.principal,
        row.scope_type,
        row.workspace_id,
        row.folder_path,
        row.created_at,
        row.created_by,
      ],
    );
  }

  async deleteAssignment(tenantId: string, id: string): Promise<boolean> {
    const result = await this.db.query<[Array<{ id: string }>, number]>(
      'DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2 RETURNING id',
      [tenantId, id],
    );
    return returnedRows<{ id: string }>(result).length > 0;
  }

  async workspaceExists(tenantId: string, workspaceId: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      'SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2',
      [tenantId, workspaceId],
    );
    return rows.length > 0;
  }
}
