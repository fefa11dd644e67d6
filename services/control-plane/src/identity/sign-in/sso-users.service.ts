import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { Clock } from '../../common/clock';
import { UsersRepository, type UserRow } from '../../users/users.repository';
import { IdentityProvidersService } from './identity-providers.service';

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

/** Refuses an account of the other kind than the connector signs in. */
function assertKind(user: UserRow, kind: UserRow['kind']): UserRow {
  if (user.kind === kind) return user;
  throw signInRefusal(
    'account_kind_mismatch',
    kind === 'partner'
      ? "This sign-in is for partners; your account belongs to the organisation. Use your organisation's own sign-in."
      : 'Your account is a partner account: sign in with your own company sign-in or an emailed code.',
  );
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
    private readonly providers: IdentityProvidersService,
  ) {}

  /**
   * The user an identity belongs to: found by the connector's subject; on a first sign-in linked
   * to the user with the same e-mail only when the connector vouches for the address, or
   * created. A partner connector (a partner company's IdP) creates partners and never signs in
   * one of the tenant's members; any other connector never signs in a partner
   * (`account_kind_mismatch`), so neither side can take over the other's accounts.
   */
  async userFor(tenantId: string, providerId: string, identity: SsoIdentity): Promise<UserRow> {
    const kind = (await this.providers.isPartnerConnector(tenantId, providerId))
      ? 'partner'
      : 'member';
    const linked = await this.db.query<Array<{ user_id: string }>>(
      'SELECT user_id FROM user_identities WHERE provider_id = $1 AND subject = $2',
      [providerId, identity.subject],
    );
    if (linked[0]) {
      const user = await this.users.findById(tenantId, linked[0].user_id);
      if (user) return assertKind(user, kind);
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
    const user = assertKind(
      existing ?? (await this.create(tenantId, identity.email, identity.name ?? null, kind)),
      kind,
    );
    await this.db.query(
      `INSERT INTO user_identities (provider_id, subject, user_id, tenant_id, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [providerId, identity.subject, user.id, tenantId, this.clock.now()],
    );
    return user;
  }

  /** A new user of the connector's kind (or whoever took the address meanwhile). */
  private async create(
    tenantId: string,
    email: string,
    displayName: string | null,
    kind: UserRow['kind'],
  ): Promise<UserRow> {
    await this.db.query(
      `INSERT INTO users (id, tenant_id, email, display_name, created_at, kind)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, lower(email)) DO NOTHING`,
      [randomUUID(), tenantId, email, displayName, this.clock.now(), kind],
    );
    return (await this.users.findByEmail(tenantId, email)) as UserRow;
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
    // A partner company's IdP names groups and roles of its own choosing: none of them may
    // match the tenant's group assignments or role names, so a partner keeps none.
    await this.db.query(
      `UPDATE users SET sso_roles = CASE WHEN kind = 'partner' THEN '{}' ELSE $3::text[] END,
                        sso_groups = CASE WHEN kind = 'partner' THEN '{}' ELSE $4::text[] END
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, userId, [...attributes.roles], [...attributes.groups].slice(0, 200)],
    );
  }
}
