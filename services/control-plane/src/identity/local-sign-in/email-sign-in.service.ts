import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../../audit/audit.service';
import type { ClientInfo } from '../../common/client-info';
import { Clock } from '../../common/clock';
import { parseInput } from '../../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../../config/config';
import { TenantsService } from '../../tenants/tenants.service';
import { UsersRepository } from '../../users/users.repository';
import {
  EmailCodeService,
  EmailCodesError,
  normaliseEmail,
  SmtpMailer,
  type EmailCodeOptions,
  type Mailer,
} from '../email-codes';
import { Throttle } from '../mfa/throttle';
import { SignInFlow, type SignInContext, type SignInResult } from '../sign-in/sign-in-flow.service';
import { SignInPolicyService } from '../sign-in-policy/sign-in-policy.service';
import { PgEmailCodeStore } from './pg-email-code.store';

const email = z.string().trim().min(3).max(254);
export const emailStartSchema = z.strictObject({ email });
export const emailVerifySchema = z.strictObject({ email, code: z.string().min(1).max(20) });

const NOT_CONFIGURED = 'Emailed sign-in codes are not configured on this server.';

/**
 * Sign-in with a one-time code sent by email. Asking for a code answers the same whether or not
 * the address has an account: the same work is done (a code is stored and counted against the
 * hourly limit either way), only an existing, enabled user's code is mailed, and the mail goes
 * out after the answer, so neither the answer nor its timing tells who has an account.
 */
@Injectable()
export class EmailSignInService implements OnModuleDestroy {
  private readonly smtp: SmtpMailer | undefined;
  private readonly options: EmailCodeOptions | undefined;
  /** Checks codes (it never mails, so its mailer is the real one only for completeness). */
  private readonly verifier: EmailCodeService | undefined;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly store: PgEmailCodeStore,
    throttle: Throttle,
    private readonly tenants: TenantsService,
    private readonly users: UsersRepository,
    private readonly policies: SignInPolicyService,
    private readonly flow: SignInFlow,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CONFIG) config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('EmailSignInService');
    if (config.emailCodes) {
      this.smtp = new SmtpMailer(config.emailCodes.smtp);
      this.options = { hmacKey: config.emailCodes.hmacKey };
      this.verifier = new EmailCodeService(store, this.smtp, clock, this.options, throttle);
    }
  }

  /** Mails a code to the address if it belongs to an enabled user of the tenant. */
  async start(
    tenantSlug: string,
    body: unknown,
    client: ClientInfo,
  ): Promise<{ expiresAt: string }> {
    const input = parseInput(emailStartSchema, body, 'sign-in request');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const address = normaliseEmail(input.email);
    const refused = (reason: string) =>
      this.audit.record({
        tenantId: tenant.id,
        type: 'auth.email_code.refused',
        outcome: 'failure',
        actor: `email:${address}`,
        reason,
        ip: client.ip,
        details: { method: 'email-code' },
      });
    const policy = await this.policies.forTenant(tenant.id);
    if (!policy.emailCodesAllowed) {
      await refused('method_not_allowed');
      throw new CausewayError('sign_in_method_not_allowed');
    }
    const smtp = this.smtp;
    if (!smtp || !this.options) {
      await refused('mail_unavailable');
      throw new CausewayError('mail_unavailable', NOT_CONFIGURED);
    }
    const user = await this.users.findByEmail(tenant.id, address);
    const recipient = user && user.disabled_at === null ? user : undefined;
    // The code is issued in every case; only a real recipient's mail is ever sent.
    const outbox: Array<() => Promise<void>> = [];
    const deferred: Mailer = {
      sendSignInCode: (to, message) => {
        outbox.push(() => smtp.sendSignInCode(to, message));
        return Promise.resolve();
      },
    };
    const codes = new EmailCodeService(this.store, deferred, this.clock, this.options);
    let expiresAt: Date;
    try {
      ({ expiresAt } = await codes.issue({ id: tenant.id, name: tenant.name }, address));
    } catch (error) {
      if (error instanceof EmailCodesError && error.code === 'rate_limited') {
        await refused('rate_limited');
      }
      throw error;
    }
    if (!recipient) {
      await refused(user ? 'user_disabled' : 'unknown_address');
    } else {
      await this.audit.record({
        tenantId: tenant.id,
        type: 'auth.email_code.sent',
        outcome: 'success',
        actor: `user:${recipient.id}`,
        ip: client.ip,
        details: { method: 'email-code', expiresAt: expiresAt.toISOString() },
      });
      for (const send of outbox) this.sendLater(tenant.id, recipient.id, send);
    }
    return { expiresAt: expiresAt.toISOString() };
  }

  /** Checks the code and opens a session. */
  async verify(tenantSlug: string, body: unknown, client: ClientInfo): Promise<SignInResult> {
    const input = parseInput(emailVerifySchema, body, 'sign-in request');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const address = normaliseEmail(input.email);
    const ctx: SignInContext = {
      tenantId: tenant.id,
      method: 'email-code',
      client,
      actor: `email:${address}`,
    };
    const user = await this.flow.attempt(ctx, async () => {
      const policy = await this.policies.forTenant(tenant.id);
      if (!policy.emailCodesAllowed) throw new CausewayError('sign_in_method_not_allowed');
      if (!this.verifier) throw new CausewayError('mail_unavailable', NOT_CONFIGURED);
      await this.verifier.verify(tenant.id, address, input.code);
      const found = await this.users.findByEmail(tenant.id, address);
      // A code for an unknown address was never mailed; reaching here means the user is gone.
      if (!found)
        throw new CausewayError('sign_in_failed', undefined, { reason: 'unknown_address' });
      return found;
    });
    return this.flow.openSession(ctx, user);
  }

  /** Waits for mails still being sent, then closes the SMTP transport. */
  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.sending]);
    this.smtp?.close();
  }

  /** Sends after the answer; a failure is logged and audited (without the code). */
  private sendLater(tenantId: string, userId: string, send: () => Promise<void>): void {
    const sending = send()
      .catch(async (error: unknown) => {
        const reason = error instanceof EmailCodesError ? error.code : 'mail_failed';
        this.logger.warn(
          {
            tenantId,
            userId,
            reason,
            detail: error instanceof EmailCodesError ? error.message : undefined,
          },
          'sign-in code not sent',
        );
        await this.audit.record({
          tenantId,
          type: 'auth.email_code.refused',
          outcome: 'failure',
          actor: `user:${userId}`,
          reason,
          details: { method: 'email-code' },
        });
      })
      .catch((error: unknown) => {
        this.logger.error(
          { tenantId, userId, err: error },
          'could not record a failed sign-in mail',
        );
      })
      .finally(() => this.sending.delete(sending));
    this.sending.add(sending);
  }
}
