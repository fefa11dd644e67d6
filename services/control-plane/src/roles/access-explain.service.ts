import { Injectable } from '@nestjs/common';
import { CausewayError, PERMISSIONS, assignableScopes, type Permission } from '@causeway/contracts';
import { canonicalFolder, type AccessTarget, type Grant, type GrantScope } from '../access/grants';
import { GrantsRepository } from '../access/grants.repository';
import { UserAccess } from '../access/user-access';
import { parseInput } from '../common/validation';
import { TenantsService } from '../tenants/tenants.service';
import { UsersRepository } from '../users/users.repository';
import { explainQuerySchema } from './roles.dto';
import { RolesRepository } from './roles.repository';
import { RolesService, describeScope } from './roles.service';

export interface ExplainReason {
  role: string;
  /** `user` (assigned to the person), `group:<name>` (to an SSO group), `sso-mapping`. */
  via: string;
  scope: GrantScope;
  assignmentId: string | null;
}

export interface Explanation {
  allowed: boolean;
  user: { id: string; email: string; kind: 'member' | 'partner'; disabled: boolean };
  permission: Permission;
  target: AccessTarget;
  because: ExplainReason[];
  /** One sentence for people. */
  explanation: string;
  /** When denied: the roles of the tenant that hold the permission (what to assign). */
  candidates?: string[];
}

function describeTarget(target: AccessTarget): string {
  if (target.workspaceId === undefined) return 'in this tenant';
  if (target.folder === undefined) return `in workspace ${target.workspaceId}`;
  return `in folder ${target.folder} of workspace ${target.workspaceId}`;
}

function describeGrant(g: Grant): string {
  const via =
    g.via === 'user'
      ? 'assigned to them'
      : g.via === 'sso-mapping'
        ? 'mapped from their identity provider'
        : `assigned to their SSO group "${g.via.slice('group:'.length)}"`;
  return `role "${g.role}" ${via} on ${describeScope(g.scope)}`;
}

/**
 * Answers "why may (or may not) this person do this here?" from the same rules the guard
 * applies, and when the answer is no, which roles would change it.
 */
@Injectable()
export class AccessExplainService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly users: UsersRepository,
    private readonly grants: GrantsRepository,
    private readonly roles: RolesRepository,
    private readonly rolesService: RolesService,
  ) {}

  async explain(tenantSlug: string, query: unknown): Promise<Explanation> {
    const q = parseInput(explainQuerySchema, query, 'explain query');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const user = await this.users.findById(tenant.id, q.user);
    if (!user) throw new CausewayError('not_found', 'No user with this id exists in this tenant.');
    const target: AccessTarget = {};
    if (q.folder !== undefined && q.workspace === undefined) {
      throw new CausewayError('validation_failed', 'A folder needs its workspace (workspace=).');
    }
    if (q.workspace !== undefined) {
      if (!(await this.roles.workspaceExists(tenant.id, q.workspace))) {
        throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
      }
      target.workspaceId = q.workspace;
      if (q.folder !== undefined) {
        const folder = canonicalFolder(q.folder);
        if (folder === undefined) {
          throw new CausewayError('validation_failed', 'The folder is not a valid path.');
        }
        target.folder = folder;
      }
    }
    const grants = await this.grants.load({
      tenantId: tenant.id,
      userId: user.id,
      kind: user.kind,
      groups: user.sso_groups,
      mappedRoles: user.sso_roles,
    });
    const access = new UserAccess(tenant.id, user.id, user.kind, grants);
    const decision = access.explain(q.permission, target);
    const disabled = user.disabled_at !== null;
    const who = user.email;
    const p = q.permission;
    const where = describeTarget(target);
    const answer: Explanation = {
      allowed: decision.allowed && !disabled,
      user: { id: user.id, email: user.email, kind: user.kind, disabled },
      permission: p,
      target,
      because: decision.because.map((g) => ({
        role: g.role,
        via: g.via,
        scope: g.scope,
        assignmentId: g.assignmentId,
      })),
      explanation: '',
    };
    const level = PERMISSIONS[p].level;
    if (level === 'self') {
      answer.explanation = `Every signed-in user holds "${p}" over their own account${disabled ? `, but ${who} is disabled and cannot sign in` : ''}.`;
      return answer;
    }
    if (level === 'platform') {
      answer.explanation = `"${p}" is a platform permission: only the platform operator holds it, and no role of a tenant can grant it.`;
      answer.candidates = [];
      return answer;
    }
    if (decision.allowed) {
      answer.explanation = disabled
        ? `${who}'s roles grant "${p}" ${where} (${decision.because.map(describeGrant).join('; ')}), but ${who} is disabled and cannot sign in.`
        : `${who} may use "${p}" ${where} through ${decision.because.map(describeGrant).join('; ')}.`;
      return answer;
    }
    const partnerBarred = user.kind === 'partner' && level === 'tenant';
    const candidates = partnerBarred
      ? []
      : (await this.rolesService.allRoles(tenant.id))
          .filter((r) => r.permissions.includes(p))
          .filter(
            (r) => user.kind === 'member' || assignableScopes(r.permissions).includes('workspace'),
          )
          .map((r) => r.name);
    answer.candidates = candidates;
    const holding = grants.filter((g) => g.permissions.includes(p));
    let why: string;
    if (partnerBarred) {
      why = `${who} is a partner, and "${p}" is a tenant-wide permission, which partners are never given`;
    } else if (grants.length === 0) {
      why = `${who} holds no role in this tenant`;
    } else if (holding.length > 0) {
      why = `${who} holds "${p}" only elsewhere (${holding.map(describeGrant).join('; ')}), not ${where}`;
    } else {
      why = `none of ${who}'s roles (${grants.map((g) => `"${g.role}"`).join(', ')}) includes "${p}"`;
    }
    const fix =
      candidates.length > 0
        ? `; roles of this tenant that include it: ${candidates.join(', ')}`
        : partnerBarred
          ? ''
          : '; no role of this tenant includes it';
    answer.explanation = `${who} may not use "${p}" ${where}: ${why}${fix}.`;
    return answer;
  }
}
