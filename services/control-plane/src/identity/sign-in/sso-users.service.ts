import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { Clock } from '../../common/clock';
import { UsersRepository, type UserRow } from '../../users/users.repository';

/** A person an SSO connector (OIDC or SAML) vouched for, as user linking needs it. */
export interface SsoIdentity {
  /** The connector's stable id of the person: OIDC `sub`, SAML NameID. */
  subject: string;
  email?: string;
  /**
   * Whether the connector vouches for the address: OIDC `email_verified: true`, or a SAML
   * connector the admin set to `trustEmail`. Only then may it link to an existing account.
   */
  emailVerified: boolean;
  name?: string;
}

/** A refused sign-in step, answered 401 `sign_in_failed` with the reason for the audit trail. */
export function signInRefusal(reason: string, message?: string): CausewayError {
  return new CausewayError('sign_in_failed', message, { reason });
}

/**
 * Finds or creates the user behind an SSO identity, the same way for every connector kind, so
 * OIDC and SAML cannot drift apart on the rule that matters: an address the connector does not
 * vouch for never takes over an existing account.
 */
@Injectable()
export class SsoUsers {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The user an identity belongs to: found by the connector's subject; on a first sign-in linked
   * to the user with the same e-mail only when the connector vouches for the address, or
   * created.
   */
  async userFor(tenantId: string, providerId: string, identity: SsoIdentity): Promise<UserRow> {
    const linked = await this.db.query<Array<{ user_id: string }>>(
      'SELECT user_id FROM user_identities WHERE provider_id = $1 AND subject = $2',
      [providerId, identity.subject],
    );
    if (linked[0]) {
      const user = await this.users.findById(tenantId, linked[0].user_id);
      if (user) return user;
    }
    if (!identity.email) {
      throw signInRefusal(
        'email_missing',
        'The identity provider did not send an email address; ask your administrator to map one.',
      );
    }
    const existing = await this.users.findByEmail(tenantId, identity.email);
    if (existing && !identity.emailVerified) {
      throw signInRefusal(
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

  /**
   * Replaces what the identity provider said of the user at this sign-in: their groups and
   * the roles the connector's mapping gives (none is none: nothing from an earlier sign-in
   * survives). Roles assigned in Causeway to a group apply through `groups`.
   */
  async setSsoAttributes(
    tenantId: string,
    userId: string,
    attributes: { roles: readonly string[]; groups: readonly string[] },
  ): Promise<void> {
    await this.db.query(
      'UPDATE users SET sso_roles = $3, sso_groups = $4 WHERE tenant_id = $1 AND id = $2',
      [tenantId, userId, [...attributes.roles], [...attributes.groups].slice(0, 200)],
    );
  }
}
