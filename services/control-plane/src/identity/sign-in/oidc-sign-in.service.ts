import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { sha256Hex } from '@causeway/crypto';
import { Clock } from '../../common/clock';
import { returnedRows } from '../../common/returned-rows';
import type { ClientInfo } from '../../common/client-info';
import { TenantsService } from '../../tenants/tenants.service';
import type { PendingOidcLogin } from '../oidc';
import { IdentityProvidersService } from './identity-providers.service';
import { SignInFlow, type SignInContext, type SignInResult } from './sign-in-flow.service';
import { SsoUsers, signInRefusal as refusal } from './sso-users.service';

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
    private readonly users: SsoUsers,
    private readonly flow: SignInFlow,
    private readonly clock: Clock,
  ) {}

  /** Starts a sign-in; a refusal (unknown connector, provider unreachable) is audited. */
  async begin(
    tenantSlug: string,
    providerId: string,
    client: ClientInfo,
  ): Promise<{ authorizationUrl: URL; attemptId: string; tenantSlug: string; ttlSeconds: number }> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const ctx: SignInContext = { tenantId: tenant.id, method: 'oidc', client, providerId };
    const { authorizationUrl, pending } = await this.flow.attempt(ctx, async () =>
      (await this.providers.oidcConnector(tenant.id, providerId)).begin(),
    );
    const now = this.clock.now();
    const attemptId = randomUUID();
    await this.db.query(
      `INSERT INTO login_attempts (id, tenant_id, provider_id, state_hash, pending, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        attemptId,
        tenant.id,
        providerId,
        sha256Hex(pending.state),
        JSON.stringify(pending),
        now,
        new Date(now.getTime() + ATTEMPT_TTL_MS),
      ],
    );
    return {
      authorizationUrl,
      attemptId,
      tenantSlug: tenant.slug,
      ttlSeconds: ATTEMPT_TTL_MS / 1000,
    };
  }

  /**
   * Completes a sign-in from the provider's redirect and opens a session. `boundAttemptId` is
   * the attempt the browser started (its binding cookie): an answer arriving in a browser that
   * did not start it is refused and leaves the attempt unused.
   */
  async complete(
    tenantSlug: string,
    callbackUrl: URL,
    boundAttemptId: string | undefined,
    client: ClientInfo,
  ): Promise<SignInResult> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const ctx: SignInContext = { tenantId: tenant.id, method: 'oidc', client };
    const { user, providerId } = await this.flow.attempt(ctx, async () => {
      const state = callbackUrl.searchParams.get('state');
      if (!state) throw refusal('state_missing');
      if (!boundAttemptId) {
        throw refusal(
          'browser_mismatch',
          'This sign-in was started in another browser, or this browser blocked its cookie. Start again here.',
        );
      }
      // Taken once: a replayed or second answer finds the attempt consumed.
      type Claimed = { provider_id: string; pending: PendingOidcLogin };
      const claimed = await this.db.query<Claimed[] | [Claimed[], number]>(
        `UPDATE login_attempts SET consumed_at = $1
         WHERE state_hash = $2 AND tenant_id = $3 AND id = $4
           AND consumed_at IS NULL AND expires_at > $1
         RETURNING provider_id, pending`,
        [this.clock.now(), sha256Hex(state), tenant.id, boundAttemptId],
      );
      const attempt = returnedRows(claimed)[0];
      if (!attempt) {
        throw refusal(
          'state_mismatch',
          'This sign-in is unknown, already used or too old. Start again.',
        );
      }
      ctx.providerId = attempt.provider_id;
      const connector = await this.providers.oidcConnector(tenant.id, attempt.provider_id);
      const identity = await connector.complete(callbackUrl, attempt.pending);
      if (identity.email) ctx.actor = `email:${identity.email}`;
      const found = await this.users.userFor(tenant.id, attempt.provider_id, identity);
      await this.users.setSsoAttributes(tenant.id, found.id, {
        roles: [],
        groups: identity.groups,
      });
      return { user: found, providerId: attempt.provider_id };
    });
    return this.flow.openSession({ ...ctx, providerId }, user);
  }
}
