import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../../audit/audit.service';
import type { ClientInfo } from '../../common/client-info';
import { returnedRows } from '../../common/returned-rows';
import { parseInput } from '../../common/validation';
import type { SessionUser } from '../../sessions/sessions.service';
import { TenantsService } from '../../tenants/tenants.service';
import { UsersRepository, type UserRow } from '../../users/users.repository';
import { normaliseEmail } from '../email-codes';
import { MfaError, MfaVerifier, PasswordHasher } from '../mfa';
import { SignInFlow, type SignInContext, type SignInResult } from '../sign-in/sign-in-flow.service';
import { SignInPolicyService } from '../sign-in-policy/sign-in-policy.service';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export const passwordSignInSchema = z.strictObject({
  email: z.string().trim().min(3).max(254),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

export const setPasswordSchema = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH).optional(),
  newPassword: z
    .string()
    .min(PASSWORD_MIN_LENGTH, `use at least ${PASSWORD_MIN_LENGTH} characters`)
    .max(PASSWORD_MAX_LENGTH, `use at most ${PASSWORD_MAX_LENGTH} characters`),
});

type Returned<T> = T[] | [T[], number];

/**
 * Local passwords where the tenant allows them: sign-in (throttled per user, the same answer
 * for an unknown address and a wrong password) and setting or changing one's own password.
 */
@Injectable()
export class PasswordSignInService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly users: UsersRepository,
    private readonly policies: SignInPolicyService,
    private readonly mfa: MfaVerifier,
    private readonly hasher: PasswordHasher,
    private readonly flow: SignInFlow,
    private readonly audit: AuditService,
  ) {}

  async signIn(tenantSlug: string, body: unknown, client: ClientInfo): Promise<SignInResult> {
    const input = parseInput(passwordSignInSchema, body, 'sign-in request');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const address = normaliseEmail(input.email);
    const ctx: SignInContext = {
      tenantId: tenant.id,
      method: 'password',
      client,
      actor: `email:${address}`,
    };
    const user = await this.flow.attempt(ctx, async () => {
      const policy = await this.policies.forTenant(tenant.id);
      const found = await this.users.findByEmail(tenant.id, address);
      // An unknown address is throttled and checked like a user without a password: the same
      // work, the same answers, the same lock-out.
      const { rehash } = await this.mfa.verifyPassword(
        policy,
        { tenantId: tenant.id, userId: found?.id ?? `email:${address}` },
        input.password,
        found?.password_hash ?? undefined,
      );
      if (!found) throw new MfaError('password_invalid');
      if (rehash) await this.replaceHash(found, found.password_hash, rehash);
      return found;
    });
    return this.flow.openSession(ctx, user);
  }

  /** Sets the signed-in user's password; an existing one must be given and is checked first. */
  async setOwn(session: SessionUser, body: unknown, client: ClientInfo): Promise<void> {
    const input = parseInput(setPasswordSchema, body, 'password change');
    const policy = await this.policies.forTenant(session.tenantId);
    if (!policy.passwordsAllowed) throw new MfaError('passwords_not_allowed');
    const user = await this.users.findById(session.tenantId, session.userId);
    if (!user) throw new CausewayError('session_expired');
    if (user.password_hash !== null) {
      if (input.currentPassword === undefined) {
        throw new CausewayError('validation_failed', 'Give your current password to change it.', {
          issues: [{ field: 'currentPassword', problem: 'required to change a password' }],
        });
      }
      try {
        await this.mfa.verifyPassword(
          policy,
          { tenantId: user.tenant_id, userId: user.id },
          input.currentPassword,
          user.password_hash,
        );
      } catch (error) {
        if (error instanceof MfaError && error.code === 'password_invalid') {
          throw new CausewayError('validation_failed', 'The current password is not correct.', {
            reason: 'current_password_invalid',
            issues: [{ field: 'currentPassword', problem: 'not correct' }],
          });
        }
        throw error;
      }
    }
    const changed = await this.replaceHash(
      user,
      user.password_hash,
      await this.hasher.hash(input.newPassword),
    );
    if (!changed) {
      throw new CausewayError('conflict', 'The password changed meanwhile. Try again.');
    }
    await this.audit.record({
      tenantId: user.tenant_id,
      type: 'auth.password.set',
      outcome: 'success',
      actor: `user:${user.id}`,
      ip: client.ip,
      details: {
        userId: user.id,
        sessionId: session.sessionId,
        replaced: user.password_hash !== null,
      },
    });
  }

  /**
   * An operator sets a user's password (first password of a seeded or migrated account, or a
   * reset): same length rules, recorded with the operator as actor. Works whatever the policy
   * says; signing in with it needs the tenant to allow passwords.
   */
  async setByOperator(
    tenantId: string,
    userId: string,
    newPassword: string,
    actor: string,
  ): Promise<void> {
    const { newPassword: password } = parseInput(setPasswordSchema, { newPassword }, 'password');
    const user = await this.users.findById(tenantId, userId);
    if (!user) throw new CausewayError('not_found', 'No user with this id exists in this tenant.');
    if (!(await this.replaceHash(user, user.password_hash, await this.hasher.hash(password)))) {
      throw new CausewayError('conflict', 'The password changed meanwhile. Try again.');
    }
    await this.audit.record({
      tenantId,
      type: 'auth.password.set',
      outcome: 'success',
      actor,
      details: { userId, replaced: user.password_hash !== null, by: 'operator' },
    });
  }

  /** Stores a new hash only if the stored one is still `expected` (compare-and-set). */
  private async replaceHash(
    user: UserRow,
    expected: string | null,
    hash: string,
  ): Promise<boolean> {
    const rows = returnedRows(
      await this.db.query<Returned<{ id: string }>>(
        `UPDATE users SET password_hash = $3
         WHERE tenant_id = $1 AND id = $2 AND password_hash IS NOT DISTINCT FROM $4
         RETURNING id`,
        [user.tenant_id, user.id, hash, expected],
      ),
    );
    return rows.length > 0;
  }
}
