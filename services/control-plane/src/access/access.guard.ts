import type { Request } from 'express';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { ALL_PERMISSIONS, CausewayError, type Permission } from '@causeway/contracts';
import { secretsEqual } from '@causeway/crypto';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { PENDING_SECOND_FACTOR_KEY, PERMISSION_KEY, PUBLIC_KEY } from './permission.decorator';
import { TenantAllowListsService } from '../identity/allow-list/tenant-allow-lists.service';
import { sessionTokenFrom } from '../sessions/session-cookie';
import { SessionsService } from '../sessions/sessions.service';
import { PLATFORM_OPERATOR_SUBJECT, SIGNED_IN_USER_PERMISSIONS, type Principal } from './principal';

type AuthenticatedRequest = Request & { principal?: Principal };

/**
 * The one authorisation layer: authenticates the caller and checks the route's declared
 * permission. A route that declares neither a permission nor `@Public()` is refused, so a
 * forgotten declaration fails closed.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly sessions: SessionsService,
    private readonly allowLists: TenantAllowListsService,
    private readonly logger: PinoLogger,
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
      throw new CausewayError('second_factor_required');
    }
    if (!principal.permissions.has(permission)) {
      throw new CausewayError('forbidden', `You need the "${permission}" permission to do this.`);
    }
    req.principal = principal;
    return true;
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
      const session = await this.sessions.authenticate(token);
      await this.allowLists.assertAllowed(session.tenantId, req.ip, `user:${session.userId}`);
      return {
        kind: 'user',
        subject: `user:${session.userId}`,
        permissions: SIGNED_IN_USER_PERMISSIONS,
        session,
      };
    }
    if (!secretsEqual(match[1], this.config.adminToken)) {
      throw new CausewayError('unauthenticated', 'The bearer token is not valid.');
    }
    return {
      kind: 'platform-operator',
      subject: PLATFORM_OPERATOR_SUBJECT,
      permissions: new Set(ALL_PERMISSIONS),
    };
  }
}
