import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../../audit/audit.service';
import type { ClientInfo } from '../../common/client-info';
import { Clock } from '../../common/clock';
import { asCausewayError, reasonOf } from '../../common/domain-errors';
import { parseInput } from '../../common/validation';
import { SessionsService, type SessionUser } from '../../sessions/sessions.service';
import { MfaError, MfaVerifier, Throttle, Totp, generateRecoveryCodes } from '../mfa';
import { SignInPolicyService } from '../sign-in-policy/sign-in-policy.service';
import { PgSecondFactorStore } from './pg-second-factor.store';

const code = z.string().min(1).max(20);
export const totpCodeSchema = z.strictObject({ code });
export const secondFactorSchema = z.union([
  z.strictObject({ code }),
  z.strictObject({ recoveryCode: z.string().min(1).max(40) }),
]);

type Method = 'totp' | 'recovery-code' | 'totp-enrolment';

/**
 * A user's authenticator app and recovery codes: enrolment (confirmed by a first code before it
 * counts), confirming a session with either, and removal. Every check is throttled per tenant
 * and user, and every success or refusal is audited with its reason.
 */
@Injectable()
export class SecondFactorService {
  constructor(
    private readonly store: PgSecondFactorStore,
    private readonly mfa: MfaVerifier,
    private readonly throttle: Throttle,
    private readonly totp: Totp,
    private readonly sessions: SessionsService,
    private readonly policies: SignInPolicyService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /**
   * Starts an enrolment: a new secret, shown once. Once a user has a second factor (a confirmed
   * app, or recovery codes from one), only a session confirmed with it may replace it, so a
   * stolen first factor cannot swap in the thief's authenticator.
   */
  async startTotp(
    session: SessionUser,
    client: ClientInfo,
  ): Promise<{ secret: string; otpauthUrl: string }> {
    const { tenantId, userId } = session;
    return this.attempt(session, client, 'totp-enrolment', async () => {
      if (!session.secondFactor && (await this.hasSecondFactor(tenantId, userId))) {
        throw replaceRefused();
      }
      const issuer = (await this.store.tenantName(tenantId)) ?? 'Causeway';
      const { secret, uri } = this.totp.enrol(issuer, session.email);
      const stored = await this.store.startEnrolment(
        tenantId,
        userId,
        secret,
        this.clock.now(),
        session.secondFactor,
      );
      // Someone confirmed an app between the check and the write.
      if (!stored) throw replaceRefused();
      return { secret, otpauthUrl: uri };
    });
  }

  /**
   * Confirms the enrolment with a first code from the app: it then counts as a second factor,
   * the user gets new recovery codes (shown once, stored hashed) and this session is confirmed
   * (with a new token).
   */
  async confirmTotp(
    session: SessionUser,
    body: unknown,
    client: ClientInfo,
  ): Promise<{ token: string; recoveryCodes: string[] }> {
    const input = parseInput(totpCodeSchema, body, 'authenticator code');
    const { tenantId, userId } = session;
    const recoveryCodes = await this.attempt(session, client, 'totp-enrolment', async () => {
      const key = { tenantId, subject: `second-factor:${userId}` };
      await this.throttle.assertOpen(key);
      const enrolment = await this.store.enrolment(tenantId, userId);
      if (!enrolment) throw new MfaError('totp_not_enrolled');
      if (enrolment.confirmed) {
        throw new CausewayError(
          'conflict',
          'This authenticator app is already confirmed. To replace it, start a new enrolment.',
          { reason: 'already_confirmed' },
        );
      }
      let step: number;
      try {
        step = this.totp.verify(enrolment.secret, input.code, enrolment.lastUsedStep);
      } catch (error) {
        await this.throttle.failure(key);
        throw error;
      }
      const set = await generateRecoveryCodes();
      const confirmed = await this.store.confirmEnrolment(
        tenantId,
        userId,
        enrolment.sealed,
        step,
        set.hashes,
        this.clock.now(),
      );
      if (!confirmed) {
        throw new CausewayError('conflict', 'The enrolment changed meanwhile. Start again.', {
          reason: 'enrolment_changed',
        });
      }
      await this.throttle.success(key);
      return set.codes;
    });
    const { token } = await this.sessions.confirmSecondFactor(session);
    await this.audit.record({
      tenantId,
      type: 'auth.second_factor.enrolled',
      outcome: 'success',
      actor: `user:${userId}`,
      ip: client.ip,
      details: {
        method: 'totp',
        sessionId: session.sessionId,
        recoveryCodes: recoveryCodes.length,
      },
    });
    return { token, recoveryCodes };
  }

  /** Confirms this session with an authenticator code or a recovery code. */
  async confirmSession(
    session: SessionUser,
    body: unknown,
    client: ClientInfo,
  ): Promise<{ token: string; recoveryCodesLeft?: number }> {
    const input = parseInput(secondFactorSchema, body, 'second factor');
    const subject = { tenantId: session.tenantId, userId: session.userId };
    const method: Method = 'code' in input ? 'totp' : 'recovery-code';
    await this.attempt(session, client, method, () =>
      'code' in input
        ? this.mfa.verifyTotp(subject, input.code)
        : this.mfa.useRecoveryCode(subject, input.recoveryCode),
    );
    const { token } = await this.sessions.confirmSecondFactor(session);
    const left =
      method === 'recovery-code'
        ? (await this.store.unusedRecoveryCodes(session.tenantId, session.userId)).length
        : undefined;
    await this.audit.record({
      tenantId: session.tenantId,
      type: 'auth.second_factor.succeeded',
      outcome: 'success',
      actor: `user:${session.userId}`,
      ip: client.ip,
      details: {
        method,
        sessionId: session.sessionId,
        ...(left === undefined ? {} : { recoveryCodesLeft: left }),
      },
    });
    return left === undefined ? { token } : { token, recoveryCodesLeft: left };
  }

  /**
   * Removes the app and the recovery codes: from a session confirmed with a second factor, or
   * where the tenant does not require one.
   */
  async remove(session: SessionUser, client: ClientInfo): Promise<void> {
    const policy = await this.policies.forTenant(session.tenantId);
    if (policy.requireSecondFactor && !session.secondFactor) {
      throw new CausewayError('second_factor_required');
    }
    if (!(await this.store.remove(session.tenantId, session.userId))) {
      throw new CausewayError('not_found', 'No second factor is set up for your account.');
    }
    await this.audit.record({
      tenantId: session.tenantId,
      type: 'auth.second_factor.removed',
      outcome: 'success',
      actor: `user:${session.userId}`,
      ip: client.ip,
      details: { userId: session.userId, sessionId: session.sessionId },
    });
  }

  private async hasSecondFactor(tenantId: string, userId: string): Promise<boolean> {
    return (
      (await this.store.hasConfirmedTotp(tenantId, userId)) ||
      (await this.store.unusedRecoveryCodes(tenantId, userId)).length > 0
    );
  }

  /** Runs one check; a refusal is audited with its reason and rethrown as its answer. */
  private async attempt<T>(
    session: SessionUser,
    client: ClientInfo,
    method: Method,
    step: () => Promise<T>,
  ): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const typed = asCausewayError(error);
      if (!typed) throw error;
      await this.audit.record({
        tenantId: session.tenantId,
        type: typed.code === 'too_many_attempts' ? 'auth.locked_out' : 'auth.second_factor.failed',
        outcome: 'failure',
        actor: `user:${session.userId}`,
        reason: reasonOf(typed),
        ip: client.ip,
        details: { method, sessionId: session.sessionId },
      });
      throw typed;
    }
  }
}

function replaceRefused(): CausewayError {
  return new CausewayError(
    'second_factor_required',
    'A second factor is already set up for your account: confirm this session with it (authenticator code or recovery code) before replacing it.',
    { reason: 'replace_refused' },
  );
}
