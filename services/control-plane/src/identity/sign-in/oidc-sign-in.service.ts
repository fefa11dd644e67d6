import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { sha256Hex } from '@causeway/crypto';
import { Clock } from '../../common/clock';
import { returnedRows } from '../../common/returned-rows';
import { SessionsService } from '../../sessions/sessions.service';
import { TenantsService } from '../../tenants/tenants.service';
import { UsersRepository, type UserRow } from '../../users/users.repository';
import { OidcLoginError, type OidcIdentity, type PendingOidcLogin } from '../oidc';
import { TenantAllowListsService } from '../allow-list/tenant-allow-lists.service';
import { IdentityProvidersService } from './identity-providers.service';

/** A started sign-in must come back within this time. */
const ATTEMPT_TTL_MS = 10 * 60_000;

/**
 * OIDC sign-in for a tenant: `begin` keeps the state, nonce and PKCE verifier server-side and
 * sends the browser to the identity provider; `complete` takes the provider's answer once,
 * verifies it, finds or creates the user and opens a session.
 */
@Injectable()
export class OidcSignInService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly providers: IdentityProvidersService,
    private readonly tenants: TenantsService,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly allowLists: TenantAllowListsService,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('OidcSignInService');
  }

  async begin(tenantSlug: string, providerId: string): Promise<URL> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const connector = await this.providers.oidcConnector(tenant.id, providerId);
    const { authorizationUrl, pending } = await connector.begin();
    const now = this.clock.now();
    await this.db.query(
      `INSERT INTO login_attempts (id, tenant_id, provider_id, state_hash, pending, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        randomUUID(),
        tenant.id,
        providerId,
        sha256Hex(pending.state),
        JSON.stringify(pending),
        now,
        new Date(now.getTime() + ATTEMPT_TTL_MS),
      ],
    );
    return authorizationUrl;
  }

  /**
   * The user an identity belongs to: found by the provider's subject; on a first sign-in linked
   * to the user with the same e-mail only when the provider says the address is verified, or
   * created. An unverified address never takes over an existing account.
   */
  private async userFor(
    tenantId: string,
    providerId: string,
    identity: OidcIdentity,
    refuse: (reason: string, message?: string) => never,
  ): Promise<UserRow> {
    const linked = await this.db.query<Array<{ user_id: string }>>(
      'SELECT user_id FROM user_identities WHERE provider_id = $1 AND subject = $2',
      [providerId, identity.subject],
    );
    if (linked[0]) {
      const user = await this.users.findById(tenantId, linked[0].user_id);
      if (user) return user;
    }
    if (!identity.email) {
      return refuse(
        'email_missing',
        'The identity provider did not send an email address; ask your administrator to map one.',
      );
    }
    const existing = await this.users.findByEmail(tenantId, identity.email);
    if (existing && !identity.emailVerified) {
      return refuse(
        'email_unverified',
        'An account with this email address exists, and the identity provider does not vouch for the address. Ask your administrator.',
      );
    }
    const user =
      existing ??
      (await this.users.findOrCreate(
        tenantId,
        identity.email,
        identity.name ?? null,
        this.clock.now(),
      ));
    await this.db.query(
      `INSERT INTO user_identities (provider_id, subject, user_id, tenant_id, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [providerId, identity.subject, user.id, tenantId, this.clock.now()],
    );
    return user;
  }

  /** Completes a sign-in from the provider's redirect; returns the new session's cookie token. */
  async complete(
    tenantSlug: string,
    callbackUrl: URL,
    client: { ip: string | null; userAgent: string | null },
  ): Promise<{ token: string }> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const state = callbackUrl.searchParams.get('state');
    const refuse = (reason: string, message?: string): never => {
      this.logger.warn({ tenantId: tenant.id, reason }, 'OIDC sign-in refused');
      throw new CausewayError('sign_in_failed', message, { reason });
    };
    if (!state) return refuse('state_missing');
    // Taken once: a replayed or second answer finds the attempt consumed.
    type Claimed = { provider_id: string; pending: PendingOidcLogin };
    const claimed = await this.db.query<Claimed[] | [Claimed[], number]>(
      `UPDATE login_attempts SET consumed_at = $1
       WHERE state_hash = $2 AND tenant_id = $3 AND consumed_at IS NULL AND expires_at > $1
       RETURNING provider_id, pending`,
      [this.clock.now(), sha256Hex(state), tenant.id],
    );
    const attempt = returnedRows(claimed)[0];
    if (!attempt)
      return refuse(
        'state_mismatch',
        'This sign-in is unknown, already used or too old. Start again.',
      );
    const connector = await this.providers.oidcConnector(tenant.id, attempt.provider_id);
    let identity: OidcIdentity;
    try {
      identity = await connector.complete(callbackUrl, attempt.pending);
    } catch (error) {
      if (error instanceof OidcLoginError) return refuse(error.code, error.message);
      throw error;
    }
    const user = await this.userFor(tenant.id, attempt.provider_id, identity, refuse);
    if (user.disabled_at) return refuse('user_disabled', 'This account is disabled.');
    await this.allowLists.assertAllowed(tenant.id, client.ip ?? undefined, `user:${user.id}`);
    const { token } = await this.sessions.open({
      tenantId: tenant.id,
      userId: user.id,
      authMethod: 'oidc',
      secondFactor: false,
      ip: client.ip,
      userAgent: client.userAgent,
    });
    this.logger.info(
      { tenantId: tenant.id, userId: user.id, providerId: attempt.provider_id },
      'OIDC sign-in succeeded',
    );
    return { token };
  }
}
