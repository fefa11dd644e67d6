import { Injectable, Optional } from '@nestjs/common';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../../audit/audit.service';
import { InvitationsService } from '../../invitations/invitations.service';
import type { ClientInfo } from '../../common/client-info';
import { asCausewayError, reasonOf } from '../../common/domain-errors';
import { SessionsService } from '../../sessions/sessions.service';
import { UsersRepository, type UserRow } from '../../users/users.repository';
import { TenantAllowListsService } from '../allow-list/tenant-allow-lists.service';
import { SignInPolicyService } from '../sign-in-policy/sign-in-policy.service';

export type SignInMethod = 'oidc' | 'saml' | 'email-code' | 'password';

/** One sign-in as it is being attempted: for the audit trail and the final checks. */
export interface SignInContext {
  tenantId: string;
  method: SignInMethod;
  client: ClientInfo;
  /** The connector, for SSO. */
  providerId?: string;
  /** Who is trying, as far as known before success (`email:<address>`); never a secret. */
  actor?: string;
}

export interface SignInResult {
  /** The session cookie's token: returned once, never stored. */
  token: string;
  sessionId: string;
  userId: string;
  /**
   * The tenant requires a second factor, or the user has one: the session is limited until it
   * is confirmed.
   */
  secondFactorRequired: boolean;
}

/**
 * What every sign-in method shares: the last checks before a session opens (account enabled,
 * address allowed), and one audit event per attempt, success or failure, with the reason.
 */
@Injectable()
export class SignInFlow {
  constructor(
    private readonly sessions: SessionsService,
    private readonly allowLists: TenantAllowListsService,
    private readonly policies: SignInPolicyService,
    private readonly audit: AuditService,
    private readonly users: UsersRepository,
    /** Marks invitations accepted at a partner's first sign-in (absent in narrow test modules). */
    @Optional() private readonly invitations?: InvitationsService,
  ) {}

  /**
   * Runs one sign-in step; a refusal is recorded as `auth.sign_in.failed` with its reason and
   * rethrown as the error the caller answers with.
   */
  async attempt<T>(ctx: SignInContext, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const typed = asCausewayError(error);
      if (!typed) throw error;
      // An allow-list refusal was recorded where it happened.
      if (typed.code !== 'address_not_allowed') await this.recordFailure(ctx, typed);
      throw typed;
    }
  }

  /** Records a refusal that did not come from a thrown error. */
  async recordFailure(ctx: SignInContext, error: CausewayError): Promise<void> {
    await this.audit.record({
      tenantId: ctx.tenantId,
      type: error.code === 'too_many_attempts' ? 'auth.locked_out' : 'auth.sign_in.failed',
      outcome: 'failure',
      actor: ctx.actor ?? null,
      reason: reasonOf(error),
      ip: ctx.client.ip,
      details: { method: ctx.method, providerId: ctx.providerId ?? null },
    });
  }

  /**
   * The user is who they say: check the account and the address, open the session, record the
   * success. `secondFactor` is true only when this sign-in itself confirmed one.
   */
  async openSession(
    ctx: SignInContext,
    user: UserRow,
    secondFactor = false,
  ): Promise<SignInResult> {
    const withUser = { ...ctx, actor: `user:${user.id}` };
    return this.attempt(withUser, async () => {
      if (user.tenant_id !== ctx.tenantId) throw new CausewayError('sign_in_failed');
      if (user.disabled_at) {
        throw new CausewayError('sign_in_failed', 'This account is disabled.', {
          reason: 'user_disabled',
        });
      }
      await this.allowLists.assertAllowed(ctx.tenantId, ctx.client.ip ?? undefined, withUser.actor);
      const policy = await this.policies.forTenant(ctx.tenantId);
      const { token, sessionId } = await this.sessions.open({
        tenantId: ctx.tenantId,
        userId: user.id,
        authMethod: ctx.method,
        secondFactor,
        ip: ctx.client.ip,
        userAgent: ctx.client.userAgent,
      });
      await this.invitations?.onSignIn(ctx.tenantId, user.id);
      await this.audit.record({
        tenantId: ctx.tenantId,
        type: 'auth.sign_in.succeeded',
        outcome: 'success',
        actor: withUser.actor,
        ip: ctx.client.ip,
        details: { method: ctx.method, providerId: ctx.providerId ?? null, sessionId },
      });
      return {
        token,
        sessionId,
        userId: user.id,
        secondFactorRequired:
          !secondFactor &&
          (policy.requireSecondFactor || (await this.users.hasSecondFactor(ctx.tenantId, user.id))),
      };
    });
  }
}

/**
 * Where the browser goes after a redirect-based sign-in (OIDC, SAML): the console's home, or
 * its second-factor page when the tenant requires one.
 */
export function afterSignIn(result: SignInResult): string {
  return result.secondFactorRequired ? '/sign-in/second-factor' : '/';
}
