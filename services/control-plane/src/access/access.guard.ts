import type { Request } from 'express';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ALL_PERMISSIONS, CausewayError, PERMISSIONS, type Permission } from '@causeway/contracts';
import { secretsEqual } from '@causeway/crypto';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { PENDING_SECOND_FACTOR_KEY, PERMISSION_KEY, PUBLIC_KEY } from './permission.decorator';
import { TenantAllowListsService } from '../identity/allow-list/tenant-allow-lists.service';
import { sessionTokenFrom } from '../sessions/session-cookie';
import { SessionsService } from '../sessions/sessions.service';
import { TenantsRepository } from '../tenants/tenants.repository';
import { canonicalFolder, type AccessTarget } from './grants';
import { GrantsRepository } from './grants.repository';
import { PLATFORM_OPERATOR_SUBJECT, type Principal } from './principal';
import { UserAccess } from './user-access';
import { AuditService } from '../audit/audit.service';
import { RefusalRecorder } from './refusal-recorder';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type AuthenticatedRequest = Request & { principal?: Principal };

/** The route's pattern (`/api/v1/tenants/:tenant/...`): never the ids or names of the request. */
function routeOf(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? route.path : req.path;
}

/**
 * The one authorisation layer: authenticates the caller and checks the route's declared
 * permission against the caller's roles, on the tenant, workspace and folder the route names. A route that declares neither a permission nor `@Public()` is refused, so a
 * forgotten declaration fails closed.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly sessions: SessionsService,
    private readonly allowLists: TenantAllowListsService,
    private readonly grants: GrantsRepository,
    private readonly tenants: TenantsRepository,
    @InjectDataSource() private readonly db: DataSource,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
    private readonly refusals: RefusalRecorder,
  ) {
    logger.setContext('AccessGuard');
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(
      PERMISSION_KEY,
      targets,
    );
    if (!permission) {
      this.logger.error(
        { handler: context.getHandler().name },
        'route declares no permission; refused',
      );
      throw new CausewayError('forbidden');
    }
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticate(req);
    if (
      principal.kind === 'user' &&
      principal.session.secondFactorPending &&
      !this.reflector.get<boolean>(PENDING_SECOND_FACTOR_KEY, context.getHandler())
    ) {
      await this.audit.record({
        tenantId: principal.session.tenantId,
        type: 'auth.second_factor.pending_refused',
        outcome: 'failure',
        actor: principal.subject,
        reason: 'second_factor_required',
        ip: req.ip ?? null,
        details: { path: routeOf(req), sessionId: principal.session.sessionId },
      });
      throw new CausewayError('second_factor_required');
    }
    if (principal.kind === 'platform-operator') {
      if (!principal.permissions.has(permission)) {
        throw new CausewayError('forbidden', `You need the "${permission}" permission to do this.`);
      }
    } else {
      await this.authorise(principal.access, permission, req).catch(async (error: unknown) => {
        await this.recordRefusal(
          principal.access.tenantId,
          principal.subject,
          permission,
          req,
          error,
        );
        throw error;
      });
    }
    req.principal = principal;
    return true;
  }

  /**
   * A signed-in user's request: self routes are theirs; anything else must be about their own
   * tenant (named in the path, or through a workspace of it) and covered by one of their roles.
   * Another tenant's, or a missing, tenant or workspace is answered alike: 404.
   */
  private async authorise(access: UserAccess, permission: Permission, req: Request): Promise<void> {
    const level = PERMISSIONS[permission].level;
    if (level === 'self') return;
    const params = req.params as Record<string, string | undefined>;
    const slug = params['tenant'];
    const workspaceParam = params['ws'] ?? params['workspace'];
    if (slug === undefined && (level === 'platform' || workspaceParam === undefined)) {
      throw new CausewayError('forbidden', 'This is for the platform operator.');
    }
    if (slug !== undefined) {
      const tenant = await this.tenants.findBySlug(slug);
      if (!tenant || tenant.id !== access.tenantId) {
        throw new CausewayError('not_found', `No tenant "${slug}" exists.`);
      }
    }
    // Checked after the tenant, so that another tenant is answered 404 here too.
    if (level === 'platform') {
      throw new CausewayError('forbidden', 'This is for the platform operator.');
    }
    const target: AccessTarget = {};
    if (workspaceParam !== undefined) {
      if (
        !UUID.test(workspaceParam) ||
        !(await this.workspaceInTenant(access.tenantId, workspaceParam))
      ) {
        throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
      }
      target.workspaceId = workspaceParam;
      const folder = (req.query as Record<string, unknown>)['folder'];
      if (typeof folder === 'string') {
        const canonical = canonicalFolder(folder);
        if (canonical === undefined) {
          throw new CausewayError('validation_failed', 'The folder is not a valid path.');
        }
        target.folder = canonical;
      }
    }
    if (!access.can(permission, target)) {
      throw new CausewayError('forbidden', `You need the "${permission}" permission to do this.`);
    }
  }

  /** One record per refused request: 403 as access.denied, a hidden 404 as access.not_found. */
  private async recordRefusal(
    tenantId: string,
    actor: string,
    permission: Permission,
    req: Request,
    error: unknown,
  ): Promise<void> {
    if (!(error instanceof CausewayError)) return;
    const path = routeOf(req);
    if (error.code === 'forbidden') {
      await this.audit.record({
        tenantId,
        type: 'access.denied',
        outcome: 'failure',
        actor,
        reason: 'permission_not_held',
        ip: req.ip ?? null,
        details: { path, permission },
      });
    } else if (error.code === 'not_found') {
      await this.audit.record({
        tenantId,
        type: 'access.not_found',
        outcome: 'failure',
        actor,
        reason: 'not_in_tenant',
        ip: req.ip ?? null,
        details: { path, permission },
      });
    }
  }

  private async workspaceInTenant(tenantId: string, workspaceId: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      'SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2',
      [tenantId, workspaceId],
    );
    return rows.length > 0;
  }

  private async authenticate(req: Request): Promise<Principal> {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S+)$/.exec(header) : null;
    if (!match?.[1]) {
      const token = sessionTokenFrom(req.headers.cookie);
      if (token === undefined) {
        throw new CausewayError(
          'unauthenticated',
          'Sign in first, or send an Authorization: Bearer <token> header.',
        );
      }
      const session = await this.sessions.authenticate(token).catch(async (error: unknown) => {
        await this.refusals.refused({
          type: 'auth.session.refused',
          reason: error instanceof CausewayError ? error.code : 'internal_error',
          ip: req.ip ?? null,
          path: routeOf(req),
        });
        throw error;
      });
      await this.allowLists.assertAllowed(session.tenantId, req.ip, `user:${session.userId}`);
      const grants = await this.grants.load({
        tenantId: session.tenantId,
        userId: session.userId,
        kind: session.kind,
        groups: session.groups,
        mappedRoles: session.ssoRoles,
      });
      return {
        kind: 'user',
        subject: `user:${session.userId}`,
        session,
        access: new UserAccess(session.tenantId, session.userId, session.kind, grants),
      };
    }
    if (!secretsEqual(match[1], this.config.adminToken)) {
      await this.refusals.refused({
        type: 'auth.token.refused',
        reason: 'token_invalid',
        ip: req.ip ?? null,
        path: routeOf(req),
      });
      throw new CausewayError('unauthenticated', 'The bearer token is not valid.');
    }
    return {
      kind: 'platform-operator',
      subject: PLATFORM_OPERATOR_SUBJECT,
      permissions: new Set(ALL_PERMISSIONS),
    };
  }
}
