import { Clock } from '../../common/clock';
import { MfaError } from './mfa.errors';
import { PasswordHasher } from './passwords';
import { matchRecoveryCode } from './recovery-codes';
import type { SecondFactorStore } from './second-factor.store';
import { Throttle, type ThrottleKey } from './throttle';
import { Totp } from './totp';

/** Who is signing in: every check is scoped to a tenant. */
export interface SignInSubject {
  tenantId: string;
  userId: string;
}

/** The slice of tenant settings the password check needs. */
export interface PasswordPolicy {
  /** Local passwords are off unless the tenant turns them on (SSO-first). */
  passwordsAllowed: boolean;
}

function userKey(subject: SignInSubject, kind: string): ThrottleKey {
  return { tenantId: subject.tenantId, subject: `${kind}:${subject.userId}` };
}

/**
 * The checks sign-in calls: password, authenticator code, recovery code. Each is throttled per
 * tenant and user, so guessing locks the key for a while (`locked_out`) whatever the guess.
 */
export class MfaVerifier {
  constructor(
    private readonly store: SecondFactorStore,
    private readonly throttle: Throttle,
    private readonly totp: Totp,
    private readonly passwords: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  /**
   * Checks a local password against its stored hash (`undefined` when the user has none: the
   * same work and the same answer as a wrong password). Returns `{ rehash }` with a new hash to
   * store when the stored one uses old parameters.
   */
  async verifyPassword(
    policy: PasswordPolicy,
    subject: SignInSubject,
    password: string,
    storedHash: string | undefined,
  ): Promise<{ rehash?: string }> {
    if (!policy.passwordsAllowed) throw new MfaError('passwords_not_allowed');
    const key = userKey(subject, 'password');
    await this.throttle.assertOpen(key);
    let ok = false;
    if (storedHash) ok = await this.passwords.verify(storedHash, password);
    // No hash: spend the same time anyway, so timing does not tell who has a password.
    else await this.passwords.hash(password);
    if (!ok || !storedHash) {
      await this.throttle.failure(key);
      throw new MfaError('password_invalid');
    }
    await this.throttle.success(key);
    return this.passwords.needsRehash(storedHash)
      ? { rehash: await this.passwords.hash(password) }
      : {};
  }

  /** Checks an authenticator code and records its step so it cannot be used again. */
  async verifyTotp(subject: SignInSubject, code: string): Promise<void> {
    const key = userKey(subject, 'second-factor');
    await this.throttle.assertOpen(key);
    const enrolment = await this.store.totp(subject.tenantId, subject.userId);
    if (!enrolment) throw new MfaError('totp_not_enrolled');
    let step: number;
    try {
      step = this.totp.verify(enrolment.secret, code, enrolment.lastUsedStep);
    } catch (error) {
      await this.throttle.failure(key);
      throw error;
    }
    if (!(await this.store.advanceTotpStep(subject.tenantId, subject.userId, step))) {
      // Another sign-in used this step between our read and our write.
      await this.throttle.failure(key);
      throw new MfaError('totp_replayed');
    }
    await this.throttle.success(key);
  }

  /** Checks a recovery code and uses it up. Shares the throttle key with TOTP. */
  async useRecoveryCode(subject: SignInSubject, code: string): Promise<void> {
    const key = userKey(subject, 'second-factor');
    await this.throttle.assertOpen(key);
    const unused = await this.store.unusedRecoveryCodes(subject.tenantId, subject.userId);
    const id = await matchRecoveryCode(code, unused);
    const used =
      id !== undefined &&
      (await this.store.useRecoveryCode(subject.tenantId, subject.userId, id, this.clock.now()));
    if (!used) {
      await this.throttle.failure(key);
      throw new MfaError('recovery_code_invalid');
    }
    await this.throttle.success(key);
  }
}
