import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { returnedRows } from '../common/returned-rows';

export interface InvitationRow {
  id: string;
  tenant_id: string;
  workspace_id: string;
  workspace_name: string;
  email: string;
  role_name: string;
  user_id: string;
  assignment_id: string | null;
  created_at: Date;
  created_by: string;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

type Returned<T> = T[] | [T[], number];

/** Invitations and the role assignments they create. Every method takes the tenant id. */
@Injectable()
export class InvitationsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** A custom role of the tenant, by name. */
  async customRole(
    tenantId: string,
    name: string,
  ): Promise<{ id: string; permissions: string[] } | undefined> {
    const rows = await this.db.query<Array<{ id: string; permissions: string[] }>>(
      'SELECT id, permissions FROM roles WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    return rows[0];
  }

  /**
   * The user with this address in the tenant, or a new partner account for it. Returns whether
   * it was created.
   */
  async findOrCreatePartner(
    manager: EntityManager,
    tenantId: string,
    email: string,
    now: Date,
  ): Promise<{ id: string; kind: 'member' | 'partner'; created: boolean }> {
    const inserted = returnedRows(
      await manager.query<Returned<{ id: string }>>(
        `INSERT INTO users (id, tenant_id, email, display_name, created_at, kind)
         VALUES ($1, $2, $3, NULL, $4, 'partner')
         ON CONFLICT (tenant_id, lower(email)) DO NOTHING RETURNING id`,
        [randomUUID(), tenantId, email, now],
      ),
    );
    if (inserted[0]) return { id: inserted[0].id, kind: 'partner', created: true };
    const rows = await manager.query<Array<{ id: string; kind: 'member' | 'partner' }>>(
      'SELECT id, kind FROM users WHERE tenant_id = $1 AND lower(email) = lower($2)',
      [tenantId, email],
    );
    const found = rows[0];
    if (!found) throw new Error('the user vanished while being invited');
    return { ...found, created: false };
  }

  /** A workspace-scope assignment; undefined when the user holds this role there already. */
  async assignOnWorkspace(
    manager: EntityManager,
    a: {
      tenantId: string;
      roleName: string;
      roleId: string | null;
      userId: string;
      workspaceId: string;
      now: Date;
      actor: string;
    },
  ): Promise<string | undefined> {
    const rows = returnedRows(
      await manager.query<Returned<{ id: string }>>(
        `INSERT INTO role_assignments
           (id, tenant_id, role_name, role_id, principal, scope_type, workspace_id, folder_path, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, 'workspace', $6, NULL, $7, $8)
         ON CONFLICT DO NOTHING RETURNING id`,
        [
          randomUUID(),
          a.tenantId,
          a.roleName,
          a.roleId,
          `user:${a.userId}`,
          a.workspaceId,
          a.now,
          a.actor,
        ],
      ),
    );
    return rows[0]?.id;
  }

  async insert(
    manager: EntityManager,
    row: Omit<InvitationRow, 'workspace_name' | 'accepted_at' | 'revoked_at'>,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO invitations
         (id, tenant_id, workspace_id, email, role_name, user_id, assignment_id, created_at, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        row.id,
        row.tenant_id,
        row.workspace_id,
        row.email,
        row.role_name,
        row.user_id,
        row.assignment_id,
        row.created_at,
        row.created_by,
        row.expires_at,
      ],
    );
  }

  async list(tenantId: string): Promise<InvitationRow[]> {
    return this.db.query<InvitationRow[]>(
      `SELECT i.*, w.name AS workspace_name FROM invitations i
       JOIN workspaces w ON w.id = i.workspace_id AND w.tenant_id = i.tenant_id
       WHERE i.tenant_id = $1 ORDER BY i.created_at, i.id`,
      [tenantId],
    );
  }

  async find(
    tenantId: string,
    id: string,
    manager: EntityManager = this.db.manager,
    lock = false,
  ): Promise<InvitationRow | undefined> {
    const rows = await manager.query<InvitationRow[]>(
      `SELECT i.*, w.name AS workspace_name FROM invitations i
       JOIN workspaces w ON w.id = i.workspace_id AND w.tenant_id = i.tenant_id
       WHERE i.tenant_id = $1 AND i.id = $2 ${lock ? 'FOR UPDATE OF i' : ''}`,
      [tenantId, id],
    );
    return rows[0];
  }

  /** Removes the invitation's assignment; true when there was one. */
  async removeAssignment(
    manager: EntityManager,
    tenantId: string,
    assignmentId: string,
  ): Promise<boolean> {
    const rows = returnedRows(
      await manager.query<Returned<{ id: string }>>(
        'DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2 RETURNING id',
        [tenantId, assignmentId],
      ),
    );
    return rows.length > 0;
  }

  async markRevoked(manager: EntityManager, tenantId: string, id: string, at: Date): Promise<void> {
    await manager.query(
      'UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL',
      [tenantId, id, at],
    );
  }

  /**
   * Removes the assignments of invitations that expired unused (all, or one user's), and
   * returns what was removed.
   */
  async removeExpiredAssignments(
    now: Date,
    only?: { tenantId: string; userId: string },
  ): Promise<Array<{ tenant_id: string; invitation_id: string; assignment_id: string }>> {
    return returnedRows(
      await this.db.query<
        Returned<{ tenant_id: string; invitation_id: string; assignment_id: string }>
      >(
        `DELETE FROM role_assignments a USING invitations i
         WHERE i.assignment_id = a.id AND i.tenant_id = a.tenant_id
           AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at <= $1
           AND ($2::uuid IS NULL OR (i.tenant_id = $2 AND i.user_id = $3))
         RETURNING a.tenant_id, i.id AS invitation_id, a.id AS assignment_id`,
        [now, only?.tenantId ?? null, only?.userId ?? null],
      ),
    );
  }

  /** Marks a user's usable invitations accepted; returns them. */
  async accept(
    tenantId: string,
    userId: string,
    now: Date,
  ): Promise<Array<{ id: string; workspace_id: string; role_name: string }>> {
    return returnedRows(
      await this.db.query<Returned<{ id: string; workspace_id: string; role_name: string }>>(
        `UPDATE invitations SET accepted_at = $3
         WHERE tenant_id = $1 AND user_id = $2
           AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3
           AND assignment_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM role_assignments a
                       WHERE a.id = invitations.assignment_id AND a.tenant_id = $1)
         RETURNING id, workspace_id, role_name`,
        [tenantId, userId, now],
      ),
    );
  }

  /** How the inviter is named in the email. */
  async userName(tenantId: string, userId: string): Promise<string | undefined> {
    const rows = await this.db.query<Array<{ email: string; display_name: string | null }>>(
      'SELECT email, display_name FROM users WHERE tenant_id = $1 AND id = $2',
      [tenantId, userId],
    );
    const user = rows[0];
    return user ? (user.display_name ?? user.email) : undefined;
  }
}
