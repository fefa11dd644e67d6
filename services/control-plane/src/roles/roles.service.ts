import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  CausewayError,
  ROLE_TEMPLATES,
  ROLE_TEMPLATE_NAMES,
  assignableScopes,
  isPermission,
  isRoleTemplate,
  type Permission,
  type RoleTemplate,
} from '@causeway/contracts';
import { canonicalFolder, decide, type AccessTarget, type GrantScope } from '../access/grants';
import type { Principal } from '../access/principal';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import type { TenantEntity } from '../tenants/tenant.entity';
import { TenantsService } from '../tenants/tenants.service';
import { UsersRepository } from '../users/users.repository';
import {
  assignmentId as assignmentIdSchema,
  assignmentQuerySchema,
  createAssignmentSchema,
  createRoleSchema,
  type AssignmentView,
  type RoleView,
  type ScopeView,
} from './roles.dto';
import {
  RolesRepository,
  isUniqueViolation,
  type AssignmentRow,
  type CustomRoleRow,
} from './roles.repository';

/** A role as the rules need it: built-in (a template) or custom (derived from one). */
export interface ResolvedRole {
  name: string;
  id: string | null;
  template: RoleTemplate;
  permissions: Permission[];
}

/** The scope of an assignment in the shape the access rules compare. */
export function grantScopeOf(scope: ScopeView): GrantScope {
  if (scope.type === 'tenant') return { type: 'tenant' };
  if (scope.type === 'workspace') return { type: 'workspace', workspaceId: scope.workspaceId };
  return { type: 'folder', workspaceId: scope.workspaceId, path: scope.folder };
}

export function scopeViewOf(row: AssignmentRow): ScopeView {
  if (row.scope_type === 'folder' && row.workspace_id && row.folder_path) {
    return { type: 'folder', workspaceId: row.workspace_id, folder: row.folder_path };
  }
  if (row.scope_type === 'workspace' && row.workspace_id) {
    return { type: 'workspace', workspaceId: row.workspace_id };
  }
  return { type: 'tenant' };
}

/** A scope in words, for messages and explanations. */
export function describeScope(scope: ScopeView | GrantScope): string {
  if (scope.type === 'tenant') return 'the whole tenant';
  if (scope.type === 'workspace') return `workspace ${scope.workspaceId}`;
  const path = 'folder' in scope ? scope.folder : scope.path;
  return `folder ${path} of workspace ${scope.workspaceId}`;
}

/**
 * The permissions of `role` the caller does not hold on `scope`. "No role can grant a
 * permission it lacks": whoever creates, assigns or removes a role must hold all of it there.
 * The platform operator holds everything. On the tenant, only the caller's tenant-wide roles
 * count (a permission held on one workspace does not let its holder grant it tenant-wide).
 */
export function missingPermissions(
  caller: Principal,
  permissions: readonly Permission[],
  scope: ScopeView,
): Permission[] {
  if (caller.kind === 'platform-operator') {
    return permissions.filter((p) => !caller.permissions.has(p));
  }
  if (scope.type === 'tenant') {
    const tenantWide = caller.access.grants.filter((g) => g.scope.type === 'tenant');
    return permissions.filter((p) => !decide(tenantWide, p, {}).allowed);
  }
  const target: AccessTarget =
    scope.type === 'workspace'
      ? { workspaceId: scope.workspaceId }
      : { workspaceId: scope.workspaceId, folder: scope.folder };
  return permissions.filter((p) => !caller.access.can(p, target));
}

function builtInView(name: RoleTemplate): RoleView {
  const t = ROLE_TEMPLATES[name];
  return {
    id: null,
    name,
    builtIn: true,
    template: name,
    description: t.description,
    permissions: [...t.permissions],
    assignableScopes: assignableScopes(t.permissions),
    createdAt: null,
    createdBy: null,
  };
}

function customView(row: CustomRoleRow): RoleView {
  const permissions = row.permissions.filter(isPermission);
  return {
    id: row.id,
    name: row.name,
    builtIn: false,
    template: isRoleTemplate(row.template) ? row.template : 'member',
    description: row.description,
    permissions,
    assignableScopes: assignableScopes(permissions),
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

function assignmentView(row: AssignmentRow): AssignmentView {
  return {
    id: row.id,
    role: row.role_name,
    builtIn: row.role_id === null,
    principal: row.principal,
    scope: scopeViewOf(row),
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

/**
 * Custom roles and role assignments of a tenant. The guard has already checked the route's
 * permission (roles.read, roles.manage, roles.assign); this service adds the rule that nobody
 * hands out a permission they do not hold themselves.
 */
@Injectable()
export class RolesService {
  constructor(
    private readonly roles: RolesRepository,
    private readonly users: UsersRepository,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async listRoles(tenantSlug: string): Promise<{ items: RoleView[] }> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const custom = await this.roles.listRoles(tenant.id);
    return { items: [...ROLE_TEMPLATE_NAMES.map(builtInView), ...custom.map(customView)] };
  }

  /** Every role of the tenant, built-in first, as the rules see them. */
  async allRoles(tenantId: string): Promise<ResolvedRole[]> {
    const custom = await this.roles.listRoles(tenantId);
    return [
      ...ROLE_TEMPLATE_NAMES.map((name) => ({
        name,
        id: null,
        template: name,
        permissions: [...ROLE_TEMPLATES[name].permissions],
      })),
      ...custom.map((row) => {
        const v = customView(row);
        return { name: v.name, id: v.id, template: v.template, permissions: v.permissions };
      }),
    ];
  }

  async createRole(tenantSlug: string, input: unknown, caller: Principal): Promise<RoleView> {
    const body = parseInput(createRoleSchema, input, 'role');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    if (isRoleTemplate(body.name)) {
      throw new CausewayError(
        'validation_failed',
        `"${body.name}" is the name of a built-in role; choose another name.`,
      );
    }
    const allowed: readonly Permission[] = ROLE_TEMPLATES[body.template].permissions;
    const permissions = [...new Set(body.permissions ?? allowed)];
    const extra = permissions.filter((p) => !allowed.includes(p));
    if (extra.length > 0) {
      throw new CausewayError(
        'validation_failed',
        `A role derived from "${body.template}" can only hold the template's permissions; not: ${extra.join(', ')}.`,
        { extra },
      );
    }
    const missing = missingPermissions(caller, permissions, { type: 'tenant' });
    if (missing.length > 0) {
      await this.refuse(tenant, caller, 'create-role', body.name, { type: 'tenant' }, missing);
    }
    if (await this.roles.findRole(tenant.id, body.name)) throw duplicateRole(body.name);
    const row: CustomRoleRow = {
      id: randomUUID(),
      tenant_id: tenant.id,
      name: body.name,
      template: body.template,
      description: body.description ?? '',
      permissions,
      created_at: this.clock.now(),
      created_by: caller.subject,
    };
    try {
      await this.roles.insertRole(tenant.id, row);
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateRole(body.name);
      throw error;
    }
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.role.created',
      outcome: 'success',
      actor: caller.subject,
      details: {
        roleId: row.id,
        role: row.name,
        template: row.template,
        permissions: permissions.join(','),
      },
    });
    return customView(row);
  }

  async deleteRole(tenantSlug: string, name: string, caller: Principal): Promise<void> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    if (isRoleTemplate(name)) {
      throw new CausewayError(
        'validation_failed',
        `"${name}" is a built-in role; only custom roles can be deleted.`,
      );
    }
    const role = await this.roles.findRole(tenant.id, name);
    if (!role) throw noRole(name);
    // Deleting a role ends every assignment of it: the same rule as removing each of them.
    const missing = missingPermissions(caller, customView(role).permissions, { type: 'tenant' });
    if (missing.length > 0) {
      await this.refuse(tenant, caller, 'delete-role', role.name, { type: 'tenant' }, missing);
    }
    const assignments = await this.roles.deleteRole(tenant.id, role.id);
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.role.deleted',
      outcome: 'success',
      actor: caller.subject,
      details: { roleId: role.id, role: role.name, assignmentsRemoved: assignments },
    });
  }

  async listAssignments(tenantSlug: string, query: unknown): Promise<{ items: AssignmentView[] }> {
    const q = parseInput(assignmentQuerySchema, query, 'assignment query');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const principals = [
      ...(q.user === undefined ? [] : [`user:${q.user}`]),
      ...(q.group === undefined ? [] : [`group:${q.group}`]),
    ];
    const rows = await this.roles.listAssignments(tenant.id, {
      ...(principals.length > 0 ? { principals } : {}),
      ...(q.workspace === undefined ? {} : { workspaceId: q.workspace }),
    });
    return { items: rows.map(assignmentView) };
  }

  async assign(tenantSlug: string, input: unknown, caller: Principal): Promise<AssignmentView> {
    const body = parseInput(createAssignmentSchema, input, 'assignment');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const role = await this.resolveRole(tenant.id, body.role);
    const allowedScopes = assignableScopes(role.permissions);
    if (!allowedScopes.includes(body.scope.type)) {
      throw new CausewayError(
        'validation_failed',
        `The role "${role.name}" holds tenant-wide permissions: it can only be assigned on the tenant, not on a ${body.scope.type}.`,
      );
    }
    let principal: string;
    if (body.user !== undefined) {
      const user = await this.users.findById(tenant.id, body.user);
      if (!user)
        throw new CausewayError('not_found', 'No user with this id exists in this tenant.');
      if (user.kind === 'partner' && body.scope.type === 'tenant') {
        throw new CausewayError(
          'validation_failed',
          'A partner can only be given roles on a workspace or a folder, not on the whole tenant.',
        );
      }
      principal = `user:${user.id}`;
    } else {
      principal = `group:${body.group ?? ''}`;
    }
    let scope: ScopeView;
    if (body.scope.type === 'tenant') {
      scope = { type: 'tenant' };
    } else {
      if (!(await this.roles.workspaceExists(tenant.id, body.scope.workspaceId))) {
        throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
      }
      if (body.scope.type === 'workspace') {
        scope = { type: 'workspace', workspaceId: body.scope.workspaceId };
      } else {
        const folder = canonicalFolder(body.scope.folder);
        if (folder === undefined) {
          throw new CausewayError(
            'validation_failed',
            'The folder is not a valid path: it starts with "/" and has no empty, "." or ".." part.',
          );
        }
        scope = { type: 'folder', workspaceId: body.scope.workspaceId, folder };
      }
    }
    const missing = missingPermissions(caller, role.permissions, scope);
    if (missing.length > 0) {
      await this.refuse(tenant, caller, 'assign', role.name, scope, missing, principal);
    }
    const row: AssignmentRow = {
      id: randomUUID(),
      tenant_id: tenant.id,
      role_name: role.name,
      role_id: role.id,
      principal,
      scope_type: scope.type,
      workspace_id: scope.type === 'tenant' ? null : scope.workspaceId,
      folder_path: scope.type === 'folder' ? scope.folder : null,
      created_at: this.clock.now(),
      created_by: caller.subject,
    };
    try {
      await this.roles.insertAssignment(tenant.id, row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new CausewayError(
          'conflict',
          `${principal} already holds "${role.name}" on ${describeScope(scope)}.`,
        );
      }
      throw error;
    }
    await this.audit.record({
      tenantId: tenant.id,
      type: 'access.role.assigned',
      outcome: 'success',
      actor: caller.subject,
      details: auditScope(row.id, role.name, principal, scope),
    });
    return assignmentView(row);
  }

  async unassign(tenantSlug: string, id: string, caller: Principal): Promise<void> {
    const assignmentId = parseInput(assignmentIdSchema, id, 'assignment id');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const row = await this.roles.findAssignment(tenant.id, assignmentId);
    if (!row) {
      throw new CausewayError(
        'not_found',
        'No role assignment with this id exists in this tenant.',
      );
    }
    const scope = scopeViewOf(row);
    const role = await this.resolveRole(tenant.id, row.role_name).catch(() => undefined);
    // A role that no longer resolves grants nothing: anyone with roles.assign may tidy it up.
    const missing = role ? missingPermissions(caller, role.permissions, scope) : [];
    if (missing.length > 0) {
      await this.refuse(tenant, caller, 'unassign', row.role_name, scope, missing, row.principal);
    }
    if (!(await this.roles.deleteAssignment(tenant.id, row.id))) {
      throw new CausewayError(
        'not_found',
        'No role assignment with this id exists in this tenant.',
      );
    }
    await this.audit.record({
      tenantId: tenant.id,
      type: 'access.role.removed',
      outcome: 'success',
      actor: caller.subject,
      details: auditScope(row.id, row.role_name, row.principal, scope),
    });
  }

  /** A built-in role by its template name, or a custom role of this tenant; else 404. */
  async resolveRole(tenantId: string, name: string): Promise<ResolvedRole> {
    if (isRoleTemplate(name)) {
      return {
        name,
        id: null,
        template: name,
        permissions: [...ROLE_TEMPLATES[name].permissions],
      };
    }
    const row = await this.roles.findRole(tenantId, name);
    if (!row) throw noRole(name);
    const v = customView(row);
    return { name: v.name, id: v.id, template: v.template, permissions: v.permissions };
  }

  /** Records the refusal, then answers 403 naming what the caller lacks. */
  private async refuse(
    tenant: TenantEntity,
    caller: Principal,
    action: 'create-role' | 'delete-role' | 'assign' | 'unassign',
    role: string,
    scope: ScopeView,
    missing: Permission[],
    principal?: string,
  ): Promise<never> {
    await this.audit.record({
      tenantId: tenant.id,
      type: 'access.role.refused',
      outcome: 'failure',
      actor: caller.subject,
      reason: 'permission_not_held',
      details: {
        action,
        role,
        principal: principal ?? null,
        scope: scope.type,
        workspaceId: scope.type === 'tenant' ? null : scope.workspaceId,
        folder: scope.type === 'folder' ? scope.folder : null,
        missing: missing.join(','),
      },
    });
    throw new CausewayError(
      'forbidden',
      `You cannot hand out permissions you do not hold on ${describeScope(scope)}: ${missing.join(', ')}.`,
      { missing },
    );
  }
}

function auditScope(id: string, role: string, principal: string, scope: ScopeView) {
  return {
    assignmentId: id,
    role,
    principal,
    scope: scope.type,
    workspaceId: scope.type === 'tenant' ? null : scope.workspaceId,
    folder: scope.type === 'folder' ? scope.folder : null,
  };
}

function noRole(name: string): CausewayError {
  return new CausewayError('not_found', `No role "${name}" exists in this tenant.`);
}

function duplicateRole(name: string): CausewayError {
  return new CausewayError('conflict', `A role named "${name}" already exists in this tenant.`);
}
