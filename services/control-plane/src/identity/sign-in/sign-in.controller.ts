import type { Request, Response } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, Public, RequirePermission } from '../../access/permission.decorator';
import type { Principal } from '../../access/principal';
import { clientOf } from '../../common/client-info';
import { parseInput } from '../../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../../config/config';
import { sessionCookie } from '../../sessions/session-cookie';
import { SessionsService } from '../../sessions/sessions.service';
import { IdentityProvidersService } from './identity-providers.service';
import { OidcSignInService } from './oidc-sign-in.service';
import { afterSignIn } from './sign-in-flow.service';
import { bindingCookie, boundValue } from './browser-binding';
import { SignInPolicyService } from '../sign-in-policy/sign-in-policy.service';
import { Audited } from '../../audited-routes/audited.decorator';

const providerId = z.uuid({ error: 'a provider id is a UUID' });
const loginQuery = z.object({ provider: providerId });

/** Ties an OIDC sign-in to the browser that started it (see browser-binding.ts). */
export const OIDC_ATTEMPT_COOKIE = 'causeway_oidc_attempt';
const ATTEMPT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function attemptCookie(tenantSlug: string, attemptId: string, maxAgeSeconds: number): string {
  return bindingCookie({
    name: OIDC_ATTEMPT_COOKIE,
    tenantSlug,
    method: 'oidc',
    value: attemptId,
    maxAgeSeconds,
    // The provider sends the browser back with a top-level GET, which Lax cookies accompany.
    sameSite: 'lax',
  });
}

@ApiTags('sign-in')
@Controller()
export class SignInController {
  constructor(
    private readonly providers: IdentityProvidersService,
    private readonly oidc: OidcSignInService,
    private readonly sessions: SessionsService,
    private readonly policies: SignInPolicyService,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  @Post('api/v1/tenants/:tenant/identity-providers')
  @ApiBearerAuth()
  @RequirePermission('identity-providers.manage')
  @ApiOperation({ summary: 'Add a sign-in connector (OIDC or SAML) to the tenant' })
  create(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.providers.create(tenant, body, caller.subject);
  }

  @Get('api/v1/tenants/:tenant/identity-providers')
  @Audited('config.identity_provider.listed')
  @ApiBearerAuth()
  @RequirePermission('identity-providers.manage')
  @ApiOperation({ summary: "The tenant's sign-in connectors (never their secrets)" })
  async list(@Param('tenant') tenant: string) {
    return { items: await this.providers.list(tenant) };
  }

  @Delete('api/v1/tenants/:tenant/identity-providers/:id')
  @HttpCode(204)
  @ApiBearerAuth()
  @RequirePermission('identity-providers.manage')
  @ApiOperation({ summary: 'Remove a sign-in connector' })
  async remove(
    @Param('tenant') tenant: string,
    @Param('id') id: string,
    @Caller() caller: Principal,
  ): Promise<void> {
    await this.providers.remove(tenant, parseInput(providerId, id, 'provider id'), caller.subject);
  }

  /** Public: what the sign-in page offers for this tenant. */
  @Get('api/v1/auth/:tenant/methods')
  @Audited('auth.sign_in_methods.read')
  @Public()
  @ApiOperation({ summary: "The tenant's sign-in methods" })
  async methods(@Param('tenant') tenant: string) {
    const items = await this.providers.list(tenant, true);
    const policy = await this.policies.get(tenant);
    return {
      items: items.map((p) => ({ id: p.id, kind: p.kind, name: p.name, loginUrl: p.loginUrl })),
      emailCode: policy.emailCodesAllowed && this.config.emailCodes !== undefined,
      password: policy.passwordsAllowed,
    };
  }

  @Get('api/v1/auth/:tenant/oidc/login')
  @Audited('auth.sign_in.started', { method: 'oidc' })
  @Public()
  @ApiOperation({ summary: "Start signing in with one of the tenant's OIDC providers (redirects)" })
  async oidcLogin(
    @Param('tenant') tenant: string,
    @Query() query: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { provider } = parseInput(loginQuery, query, 'sign-in request');
    const { authorizationUrl, attemptId, tenantSlug, ttlSeconds } = await this.oidc.begin(
      tenant,
      provider,
      clientOf(req),
    );
    res.setHeader('Set-Cookie', attemptCookie(tenantSlug, attemptId, ttlSeconds));
    res.redirect(302, authorizationUrl.href);
  }

  @Get('api/v1/auth/:tenant/oidc/callback')
  @Public()
  @ApiOperation({ summary: 'Where the OIDC provider sends the user back; opens a session' })
  async oidcCallback(
    @Param('tenant') tenant: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const callbackUrl = new URL(req.originalUrl, this.config.publicUrl);
    const bound = boundValue(req, OIDC_ATTEMPT_COOKIE, ATTEMPT_ID)?.[0];
    // Whatever happens next, this browser's attempt is over.
    const cleared = attemptCookie(tenant, '', 0);
    res.setHeader('Set-Cookie', cleared);
    const result = await this.oidc.complete(tenant, callbackUrl, bound, clientOf(req));
    res.setHeader('Set-Cookie', [cleared, sessionCookie(result.token, this.sessions.maxAgeMs)]);
    res.redirect(303, afterSignIn(result));
  }
}
