import type { Response } from 'express';
import { Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import {
  AllowPendingSecondFactor,
  Caller,
  RequirePermission,
} from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { parseInput } from '../common/validation';
import { clearedSessionCookie } from './session-cookie';
import { SessionsService } from './sessions.service';
import { Audited } from '../audited-routes/audited.decorator';

const sessionId = z.uuid({ error: 'a session id is a UUID' });
const userId = z.uuid({ error: 'a user id is a UUID' });

@ApiTags('sessions')
@Controller()
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get('api/v1/me')
  @Audited('auth.profile.read')
  @RequirePermission('account.self')
  @AllowPendingSecondFactor()
  @ApiOperation({ summary: 'Who is signed in' })
  me(@Caller() caller: Principal) {
    if (caller.kind === 'platform-operator') return { kind: caller.kind };
    const s = caller.session;
    return {
      kind: caller.kind,
      id: s.userId,
      tenantId: s.tenantId,
      email: s.email,
      displayName: s.displayName,
      authMethod: s.authMethod,
      secondFactor: s.secondFactor,
      secondFactorRequired: s.secondFactorPending,
      ssoRoles: s.ssoRoles,
      groups: s.groups,
      userKind: s.kind,
      roles: caller.access.grants.map((g) => ({
        role: g.role,
        scope: g.scope,
        via: g.via,
      })),
    };
  }

  @Get('api/v1/sessions')
  @Audited('auth.session.listed')
  @RequirePermission('account.self')
  @ApiOperation({ summary: 'Your open sessions' })
  async list(@Caller() caller: Principal) {
    return { items: caller.kind === 'user' ? await this.sessions.listOwn(caller.session) : [] };
  }

  @Delete('api/v1/sessions/:id')
  @HttpCode(204)
  @RequirePermission('account.self')
  @ApiOperation({ summary: 'End one of your sessions (for example on a lost device)' })
  async revoke(@Param('id') id: string, @Caller() caller: Principal): Promise<void> {
    if (caller.kind !== 'user') {
      throw new CausewayError('not_found', 'You have no open session with this id.');
    }
    await this.sessions.revokeOwn(caller.session, parseInput(sessionId, id, 'session id'));
  }

  @Post('api/v1/auth/logout')
  @HttpCode(204)
  @RequirePermission('account.self')
  @AllowPendingSecondFactor()
  @ApiOperation({ summary: 'Sign out: end this session and clear its cookie' })
  async logout(
    @Caller() caller: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    if (caller.kind === 'user') await this.sessions.logout(caller.session);
    res.setHeader('Set-Cookie', clearedSessionCookie());
  }

  @Delete('api/v1/tenants/:tenant/users/:user/sessions')
  @RequirePermission('users.sessions.revoke')
  @ApiOperation({ summary: "End all of a user's sessions (sign them out everywhere)" })
  revokeUser(
    @Param('tenant') tenant: string,
    @Param('user') user: string,
    @Caller() caller: Principal,
  ) {
    return this.sessions.revokeAllOfUser(
      tenant,
      parseInput(userId, user, 'user id'),
      caller.subject,
    );
  }
}
