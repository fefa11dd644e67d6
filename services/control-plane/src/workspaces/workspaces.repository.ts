import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import {
  isPermission,
  isRoleTemplate,
  PERMISSIONS,
  ROLE_TEMPLATES,
  type Permission,
} from '@causeway/contracts';
import { WorkspaceEntity } from './workspace.entity';
import type { WorkspaceMember } from './workspaces.dto';

interface MemberRow {
  role_name: string;
  principal: string;
  scope_type: 'tenant' | 'workspace' | 'folder';
  folder_path: string | null;
  custom_permissions: string[] | null;
  user_id: string | null;
  email: string | null;
  display_name: string | null;
  kind: 'member' | 'partner' | null;
}

/** Whether a role (built-in by name, or custom with its permissions) reaches into workspaces. */
function reachesWorkspaces(name: string, custom: string[] | null): boolean {
  const permissions: readonly Permission[] = custom
    ? custom.filter(isPermission)
    : isRoleTemplate(name)
      ? ROLE_TEMPLATES[name].permissions
      : [];
  return permissions.some((p) => PERMISSIONS[p].level === 'workspace');
}

/** Every read takes the tenant id: a workspace is only ever found within its own tenant. */
@Injectable()
export class WorkspacesRepository {
  constructor(
    @InjectRepository(WorkspaceEntity) private readonly workspaces: Repository<WorkspaceEntity>,
  ) {}

  listForTenant(tenantId: string): Promise<WorkspaceEntity[]> {
    return this.workspaces.find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  findInTenant(tenantId: string, id: string): Promise<WorkspaceEntity | null> {
    return this.workspaces.findOneBy({ tenantId, id });
  }

  findByName(tenantId: string, name: string): Promise<WorkspaceEntity | null> {
    return this.workspaces.findOneBy({ tenantId, name });
  }

  /**
   * The roles that reach one workspace: tenant-wide ones (assigned or SSO-mapped; never a
   * partner's, which stop at workspaces) and those on this workspace or its folders.
   */
  async members(tenantId: string, workspaceId: string): Promise<WorkspaceMember[]> {
    const manager = this.workspaces.manager;
    const assigned = await manager.query<MemberRow[]>(
      `SELECT a.role_name, a.principal, a.scope_type, a.folder_path,
              r.permissions AS custom_permissions,
              u.id AS user_id, u.email, u.display_name, u.kind
       FROM role_assignments a
       LEFT JOIN roles r ON r.id = a.role_id AND r.tenant_id = a.tenant_id
       LEFT JOIN users u ON a.principal = 'user:' || u.id::text AND u.tenant_id = a.tenant_id
       WHERE a.tenant_id = $1
         AND (a.scope_type = 'tenant' OR a.workspace_id = $2)
         AND (a.principal LIKE 'group:%' OR (u.id IS NOT NULL AND u.disabled_at IS NULL))
         AND NOT (a.scope_type = 'tenant' AND u.kind = 'partner')
       ORDER BY a.scope_type DESC, a.created_at, a.id`,
      [tenantId, workspaceId],
    );
    const mapped = await manager.query<MemberRow[]>(
      `SELECT m.role_name, 'user:' || u.id::text AS principal, 'tenant' AS scope_type,
              NULL AS folder_path, r.permissions AS custom_permissions,
              u.id AS user_id, u.email, u.display_name, u.kind
       FROM users u
       CROSS JOIN LATERAL unnest(u.sso_roles) AS m(role_name)
       LEFT JOIN roles r ON r.tenant_id = u.tenant_id AND r.name = m.role_name
       WHERE u.tenant_id = $1 AND u.kind = 'member' AND u.disabled_at IS NULL
       ORDER BY u.created_at, u.id`,
      [tenantId],
    );
    const toMember =
      (via: WorkspaceMember['via']) =>
      (row: MemberRow): WorkspaceMember => ({
        principal: row.principal,
        user:
          row.user_id && row.email && row.kind
            ? {
                id: row.user_id,
                email: row.email,
                displayName: row.display_name,
                kind: row.kind,
              }
            : null,
        group: row.principal.startsWith('group:') ? row.principal.slice('group:'.length) : null,
        role: row.role_name,
        scope: row.scope_type,
        folder: row.folder_path,
        via,
      });
    return [
      ...assigned
        .filter((r) => reachesWorkspaces(r.role_name, r.custom_permissions))
        .map(toMember('assignment')),
      ...mapped
        .filter((r) => reachesWorkspaces(r.role_name, r.custom_permissions))
        .map(toMember('sso-mapping')),
    ];
  }

  async insert(
    manager: EntityManager,
    row: Pick<WorkspaceEntity, 'id' | 'tenantId' | 'nodeId' | 'name'>,
  ): Promise<void> {
    await manager.insert(WorkspaceEntity, { ...row, state: 'provisioning' });
  }

  async settle(
    manager: EntityManager,
    tenantId: string,
    id: string,
    outcome: { state: 'ready' } | { state: 'failed'; code: string; message: string },
  ): Promise<void> {
    await manager.update(
      WorkspaceEntity,
      { tenantId, id },
      outcome.state === 'ready'
        ? { state: 'ready', errorCode: null, errorMessage: null }
        : { state: 'failed', errorCode: outcome.code, errorMessage: outcome.message },
    );
  }
}
