import type { Request, Response } from 'express';
import { Body, Controller, Delete, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CausewayError } from '@causeway/contracts';
import {
  AllowPendingSecondFactor,
  Caller,
  Public,
  RequirePermission,
} from '../../access/permission.decorator';
import type { Principal } from '../../access/principal';
import { clientOf } from '../../common/client-info';
import { sessionCookie } from '../../sessions/session-cookie';
import { SessionsService, type SessionUser } from '../../sessions/sessions.service';
import type { SignInResult } from '../sign-in/sign-in-flow.service';
import { EmailSignInService } from './email-sign-in.service';
import { PasswordSignInService } from './password-sign-in.service';
import { SecondFactorService } from './second-factor.service';
import { Audited } from '../../audited-routes/audited.decorator';

/** The signed-in user's session; the operator token has no account of its own. */
function sessionOf(caller: Principal): SessionUser {
  if (caller.kind !== 'user') {
    throw new CausewayError(
      'forbidden',
      'This is for signed-in users; the operator token has no account.',
    );
  }
  return caller.session;
}

@ApiTags('sign-in')
@Controller()
export class LocalSignInController {
  constructor(
    private readonly email: EmailSignInService,
    private readonly passwords: PasswordSignInService,
    private readonly secondFactor: SecondFactorService,
    private readonly sessions: SessionsService,
  ) {}

  @Post('api/v1/auth/:tenant/email/start')
  @HttpCode(202)
  @Public()
  @ApiOperation({ summary: 'Email a one-time sign-in code (the same answer for any address)' })
  startEmail(@Param('tenant') tenant: string, @Body() body: unknown, @Req() req: Request) {
    return this.email.start(tenant, body, clientOf(req));
  }

  @Post('api/v1/auth/:tenant/email/verify')
  @HttpCode(200)
  @Public()
  @ApiOperation({ summary: 'Sign in with the emailed code; sets the session cookie' })
  async verifyEmail(
    @Param('tenant') tenant: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.signedIn(res, await this.email.verify(tenant, body, clientOf(req)));
  }

  @Post('api/v1/auth/:tenant/password')
  @HttpCode(200)
  @Public()
  @ApiOperation({ summary: 'Sign in with email and password where the tenant allows it' })
  async password(
    @Param('tenant') tenant: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.signedIn(res, await this.passwords.signIn(tenant, body, clientOf(req)));
  }

  @Put('api/v1/me/password')
  @HttpCode(204)
  @RequirePermission('account.self')
  @ApiOperation({ summary: 'Set or change your password (where your organisation allows them)' })
  async setPassword(
    @Caller() caller: Principal,
    @Body() body: unknown,
    @Req() req: Request,
  ): Promise<void> {
    await this.passwords.setOwn(sessionOf(caller), body, clientOf(req));
  }

  @Post('api/v1/me/second-factor/totp')
  @Audited('auth.second_factor.setup_started')
  @RequirePermission('account.self')
  @AllowPendingSecondFactor()
  @ApiOperation({ summary: 'Start setting up an authenticator app (secret shown once)' })
  startTotp(@Caller() caller: Principal, @Req() req: Request) {
    return this.secondFactor.startTotp(sessionOf(caller), clientOf(req));
  }

  @Post('api/v1/me/second-factor/totp/confirm')
  @HttpCode(200)
  @RequirePermission('account.self')
  @AllowPendingSecondFactor()
  @ApiOperation({ summary: 'Confirm the authenticator app with a code; returns recovery codes' })
  async confirmTotp(
    @Caller() caller: Principal,
    @Body() body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { token, recoveryCodes } = await this.secondFactor.confirmTotp(
      sessionOf(caller),
      body,
      clientOf(req),
    );
    res.setHeader('Set-Cookie', sessionCookie(token, this.sessions.maxAgeMs));
    return { recoveryCodes };
  }

  @Post('api/v1/auth/second-factor')
  @HttpCode(200)
  @RequirePermission('account.self')
  @AllowPendingSecondFactor()
  @ApiOperation({ summary: 'Confirm this session with an authenticator or recovery code' })
  async confirmSession(
    @Caller() caller: Principal,
    @Body() body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { token, recoveryCodesLeft } = await this.secondFactor.confirmSession(
      sessionOf(caller),
      body,
      clientOf(req),
    );
    res.setHeader('Set-Cookie', sessionCookie(token, this.sessions.maxAgeMs));
    return {
      secondFactorRequired: false,
      ...(recoveryCodesLeft === undefined ? {} : { recoveryCodesLeft }),
    };
  }

  @Delete('api/v1/me/second-factor')
  @HttpCode(204)
  @RequirePermission('account.self')
  @ApiOperation({ summary: 'Remove your authenticator app and recovery codes' })
  async removeSecondFactor(@Caller() caller: Principal, @Req() req: Request): Promise<void> {
    await this.secondFactor.remove(sessionOf(caller), clientOf(req));
  }

  private signedIn(res: Response, result: SignInResult): { secondFactorRequired: boolean } {
    res.setHeader('Set-Cookie', sessionCookie(result.token, this.sessions.maxAgeMs));
    return { secondFactorRequired: result.secondFactorRequired };
  }
}
