import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  isPermission,
  isRoleTemplate,
  ROLE_TEMPLATES,
  type Permission,
  type RoleTemplate,
} from '@causeway/contracts';
import type { Grant, GrantScope } from './grants';

/** The person whose grants are loaded, as the session knows them. */
export interface GrantHolder {
  tenantId: string;
  userId: string;
  kind: 'member' | 'partner';
  /** Groups the identity provider gave at the last sign-in. */
  groups: readonly string[];
  /** Roles the connector's mapping gave at the last sign-in. */
  mappedRoles: readonly string[];
}

interface AssignmentRow {
  id: string;
  role_name: string;
  principal: string;
  scope_type: 'tenant' | 'workspace' | 'folder';
  workspace_id: string | null;
  folder_path: string | null;
  template: string | null;
  permissions: string[] | null;
}

/** A role's template and permissions: the template's own for a built-in role. */
function roleBody(
  name: string,
  custom: { template: string | null; permissions: string[] | null } | undefined,
): { template: RoleTemplate; permissions: Permission[] } | undefined {
  if (custom?.template && isRoleTemplate(custom.template) && custom.permissions) {
    return { template: custom.template, permissions: custom.permissions.filter(isPermission) };
  }
  if (isRoleTemplate(name))
    return { template: name, permissions: [...ROLE_TEMPLATES[name].permissions] };
  return undefined;
}

function scopeOf(row: AssignmentRow): GrantScope {
  if (row.scope_type === 'tenant' || !row.workspace_id) return { type: 'tenant' };
  if (row.scope_type === 'folder' && row.folder_path) {
    return { type: 'folder', workspaceId: row.workspace_id, path: row.folder_path };
  }
  return { type: 'workspace', workspaceId: row.workspace_id };
}

/**
 * Reads the roles a user holds: assigned to them, to one of their SSO groups, or mapped from
 * the identity provider at sign-in. A partner's grants never reach beyond workspaces and
 * folders, whatever was assigned or mapped.
 */
@Injectable()
export class GrantsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async load(holder: GrantHolder): Promise<Grant[]> {
    const principals = [`user:${holder.userId}`, ...holder.groups.map((g) => `group:${g}`)];
    const rows = await this.db.query<AssignmentRow[]>(
      `SELECT a.id, a.role_name, a.principal, a.scope_type, a.workspace_id, a.folder_path,
              r.template, r.permissions
       FROM role_assignments a LEFT JOIN roles r ON r.id = a.role_id
       WHERE a.tenant_id = $1 AND a.principal = ANY($2)`,
      [holder.tenantId, principals],
    );
    const grants: Grant[] = [];
    for (const row of rows) {
      const body = roleBody(row.role_name, row.template === null ? undefined : row);
      if (!body) continue;
      grants.push({
        assignmentId: row.id,
        role: row.role_name,
        ...body,
        scope: scopeOf(row),
        via: row.principal.startsWith('group:') ? row.principal : 'user',
      });
    }
    if (holder.kind === 'member' && holder.mappedRoles.length > 0) {
      const custom = await this.db.query<
        Array<{ name: string; template: string; permissions: string[] }>
      >('SELECT name, template, permissions FROM roles WHERE tenant_id = $1 AND name = ANY($2)', [
        holder.tenantId,
        [...holder.mappedRoles],
      ]);
      for (const name of holder.mappedRoles) {
        const body = roleBody(
          name,
          custom.find((c) => c.name === name),
        );
        if (body) {
          grants.push({
            assignmentId: null,
            role: name,
            ...body,
            scope: { type: 'tenant' },
            via: 'sso-mapping',
          });
        }
      }
    }
    return holder.kind === 'partner' ? grants.filter((g) => g.scope.type !== 'tenant') : grants;
  }
}
