import { Injectable } from '@nestjs/common';
import type { ClientInfo } from '../../common/client-info';
import { TenantsService } from '../../tenants/tenants.service';
import { spMetadata, type SamlIdentity } from '../saml';
import { IdentityProvidersService } from './identity-providers.service';
import { SignInFlow, type SignInContext, type SignInResult } from './sign-in-flow.service';
import { SsoUsers } from './sso-users.service';

const EMAIL_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/** An SP-initiated sign-in just started: where to send the browser, and what to bind to it. */
export interface SamlLoginStart {
  redirectUrl: string;
  /** The AuthnRequest id: kept in the browser (cookie) so only this browser can answer it. */
  requestId: string;
  /** How long the request id is accepted. */
  ttlSeconds: number;
  /** The tenant's canonical slug, for the cookie's path. */
  tenantSlug: string;
}

/** What the ACS received: the form fields, and the request id this browser started, if any. */
export interface SamlAcsInput {
  samlResponse: unknown;
  /** From the browser's request cookie, only when it was issued for this connector. */
  expectedRequestId?: string;
}

/**
 * SAML 2.0 sign-in for a tenant, one connector at a time: SP metadata, SP-initiated login, and
 * the Assertion Consumer Service. The SAML core verifies the response; this service turns the
 * verified identity into a user and a session exactly as OIDC sign-in does.
 */
@Injectable()
export class SamlSignInService {
  constructor(
    private readonly providers: IdentityProvidersService,
    private readonly tenants: TenantsService,
    private readonly users: SsoUsers,
    private readonly flow: SignInFlow,
  ) {}

  /** The connector's SP metadata XML (entity id, ACS URL) for the IdP admin. */
  async metadata(tenantSlug: string, providerId: string): Promise<string> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const { connector } = await this.providers.samlConnector(tenant.id, providerId);
    return spMetadata(connector.config);
  }

  /**
   * Starts an SP-initiated login: the request id is stored per tenant in PostgreSQL. A refusal
   * (unknown connector) is audited.
   */
  async begin(tenantSlug: string, providerId: string, client: ClientInfo): Promise<SamlLoginStart> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const ctx: SignInContext = { tenantId: tenant.id, method: 'saml', client, providerId };
    const { connector, started } = await this.flow.attempt(ctx, async () => {
      const provider = await this.providers.samlConnector(tenant.id, providerId);
      return { connector: provider.connector, started: await provider.connector.begin() };
    });
    const { redirectUrl, requestId } = started;
    return {
      redirectUrl,
      requestId,
      ttlSeconds: connector.config.requestTtlSeconds,
      tenantSlug: tenant.slug,
    };
  }

  /**
   * Verifies a posted SAMLResponse, finds or creates the user, records the roles the
   * connector's mapping grants and opens a session. Every refusal is audited by `SignInFlow`.
   */
  async complete(
    tenantSlug: string,
    providerId: string,
    input: SamlAcsInput,
    client: ClientInfo,
  ): Promise<SignInResult> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const ctx: SignInContext = { tenantId: tenant.id, method: 'saml', client, providerId };
    const user = await this.flow.attempt(ctx, async () => {
      const provider = await this.providers.samlConnector(tenant.id, providerId);
      const identity = await provider.connector.complete(
        typeof input.samlResponse === 'string' ? input.samlResponse : '',
        {
          expectedRequestId: input.expectedRequestId,
          allowIdpInitiated: provider.allowIdpInitiated,
        },
      );
      const email = emailOf(identity);
      if (email) ctx.actor = `email:${email}`;
      const found = await this.users.userFor(tenant.id, providerId, {
        subject: identity.nameId,
        email,
        emailVerified: provider.trustEmail,
        name: identity.name,
      });
      await this.users.setSsoAttributes(tenant.id, found.id, identity);
      return found;
    });
    return this.flow.openSession(ctx, user);
  }
}

/** The mapped e-mail attribute, else a NameID in the e-mail address format. */
function emailOf(identity: SamlIdentity): string | undefined {
  if (identity.email) return identity.email;
  return identity.nameIdFormat === EMAIL_NAME_ID && identity.nameId.includes('@')
    ? identity.nameId
    : undefined;
}
