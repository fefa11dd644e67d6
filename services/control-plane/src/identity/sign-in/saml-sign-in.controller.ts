import type { Request, Response } from 'express';
import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Public } from '../../access/permission.decorator';
import { clientOf } from '../../common/client-info';
import { parseInput } from '../../common/validation';
import { sessionCookie } from '../../sessions/session-cookie';
import { SessionsService } from '../../sessions/sessions.service';
import { SamlSignInService } from './saml-sign-in.service';
import { afterSignIn } from './sign-in-flow.service';
import { bindingCookie, boundValue } from './browser-binding';
import { Audited } from '../../audited-routes/audited.decorator';

const providerQuery = z.object({ provider: z.uuid({ error: 'a provider id is a UUID' }) });
const acsForm = z.object({ SAMLResponse: z.unknown(), RelayState: z.unknown() }).partial();

/**
 * Binds an SP-initiated login to the browser that started it: `<provider id>.<request id>`.
 * SameSite=None because the IdP posts the response from its own site; HttpOnly and Secure like
 * the session cookie. It carries no secret: the request id is in the AuthnRequest anyway.
 */
export const SAML_REQUEST_COOKIE = 'causeway_saml_request';
const COOKIE_VALUE = /^([0-9a-f-]{36})\.(_[0-9a-f]{40})$/;

function requestCookie(tenantSlug: string, value: string, maxAgeSeconds: number): string {
  return bindingCookie({
    name: SAML_REQUEST_COOKIE,
    tenantSlug,
    method: 'saml',
    value,
    maxAgeSeconds,
    sameSite: 'none',
  });
}

/** The request id this browser started with this connector, if any. */
function boundRequestId(req: Request, providerId: string): string | undefined {
  const match = boundValue(req, SAML_REQUEST_COOKIE, COOKIE_VALUE);
  return match && match[1] === providerId ? match[2] : undefined;
}

/**
 * SAML 2.0 sign-in routes, one SP per tenant and connector (`?provider=`): SP metadata,
 * SP-initiated login and the Assertion Consumer Service (HTTP-POST). All public.
 */
@ApiTags('sign-in')
@Controller('api/v1/auth/:tenant/saml')
export class SamlSignInController {
  constructor(
    private readonly saml: SamlSignInService,
    private readonly sessions: SessionsService,
  ) {}

  @Get('metadata')
  @Audited('config.identity_provider.metadata_read')
  @Public()
  @ApiOperation({ summary: "A SAML connector's SP metadata (entity id, ACS URL), for the IdP" })
  async metadata(
    @Param('tenant') tenant: string,
    @Query() query: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const { provider } = parseInput(providerQuery, query, 'metadata request');
    const xml = await this.saml.metadata(tenant, provider);
    res.type('application/samlmetadata+xml').send(xml);
  }

  @Get('login')
  @Audited('auth.sign_in.started', { method: 'saml' })
  @Public()
  @ApiOperation({ summary: 'Start signing in with one of the tenant SAML connectors (redirects)' })
  async login(
    @Param('tenant') tenant: string,
    @Query() query: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { provider } = parseInput(providerQuery, query, 'sign-in request');
    const start = await this.saml.begin(tenant, provider, clientOf(req));
    res.setHeader(
      'Set-Cookie',
      requestCookie(start.tenantSlug, `${provider}.${start.requestId}`, start.ttlSeconds),
    );
    res.redirect(302, start.redirectUrl);
  }

  @Post('acs')
  @Public()
  @ApiOperation({
    summary: 'Assertion Consumer Service: the IdP posts the SAMLResponse here; opens a session',
  })
  async acs(
    @Param('tenant') tenant: string,
    @Query() query: unknown,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { provider } = parseInput(providerQuery, query, 'SAML response');
    const form = parseInput(acsForm, body ?? {}, 'SAML response');
    const expectedRequestId = boundRequestId(req, provider);
    // Whatever happens next, the request id has been used: forget it in the browser too.
    const cleared = requestCookie(tenant, '', 0);
    res.setHeader('Set-Cookie', cleared);
    // RelayState is ignored: the browser always lands on the console, never on a posted URL.
    const result = await this.saml.complete(
      tenant,
      provider,
      { samlResponse: form.SAMLResponse, expectedRequestId },
      clientOf(req),
    );
    res.setHeader('Set-Cookie', [cleared, sessionCookie(result.token, this.sessions.maxAgeMs)]);
    res.redirect(303, afterSignIn(result));
  }
}
