import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { CausewayError } from '@causeway/contracts';
import { randomToken, sha256Hex } from '@causeway/crypto';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { TenantsService } from '../tenants/tenants.service';
import { SignInPolicyService } from '../identity/sign-in-policy/sign-in-policy.service';
import { UsersRepository } from '../users/users.repository';
import { SessionsRepository, type SessionRow } from './sessions.repository';

/** A session's last-seen time is written at most this often: not one write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface SessionView {
  id: string;
  authMethod: string;
  secondFactor: boolean;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  current: boolean;
}

export interface SessionUser {
  sessionId: string;
  userId: string;
  tenantId: string;
  email: string;
  displayName: string | null;
  authMethod: string;
  secondFactor: boolean;
  /**
   * The tenant requires a second factor, or the user set one up, and this session has not
   * confirmed one yet.
   */
  secondFactorPending: boolean;
  /** Roles the tenant's SSO attribute mapping gave at the last sign-in. */
  ssoRoles: string[];
  /** Groups the identity provider named at the last sign-in. */
  groups: string[];
  kind: 'member' | 'partner';
}

/**
 * Server-side sessions. A session ends when it is revoked, after CAUSEWAY_SESSION_IDLE_MINUTES
 * without a request, or CAUSEWAY_SESSION_ABSOLUTE_HOURS after sign-in, whichever comes first.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly users: UsersRepository,
    private readonly tenants: TenantsService,
    private readonly policies: SignInPolicyService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('SessionsService');
  }

  get maxAgeMs(): number {
    return this.config.sessionAbsoluteMs;
  }

  /** Opens a session after a successful sign-in; the token is returned once, for the cookie. */
  async open(input: {
    tenantId: string;
    userId: string;
    authMethod: string;
    secondFactor: boolean;
    ip: string | null;
    userAgent: string | null;
  }): Promise<{ token: string; sessionId: string }> {
    const token = randomToken(32);
    const now = this.clock.now();
    const id = randomUUID();
    await this.sessions.insert({
      id,
      token_hash: sha256Hex(token),
      user_id: input.userId,
      tenant_id: input.tenantId,
      auth_method: input.authMethod,
      second_factor: input.secondFactor,
      ip: input.ip,
      user_agent: input.userAgent?.slice(0, 500) ?? null,
      created_at: now,
      last_seen_at: now,
      absolute_expires_at: new Date(now.getTime() + this.config.sessionAbsoluteMs),
    });
    this.logger.info(
      { sessionId: id, tenantId: input.tenantId, userId: input.userId, method: input.authMethod },
      'session opened',
    );
    return { token, sessionId: id };
  }

  /** The signed-in user behind a cookie token, or a 401 saying the session ended. */
  async authenticate(token: string): Promise<SessionUser> {
    const row = await this.sessions.byTokenHash(sha256Hex(token));
    const now = this.clock.now();
    if (!row || !this.isOpen(row, now)) throw new CausewayError('session_expired');
    const user = await this.users.findById(row.tenant_id, row.user_id);
    if (!user || user.disabled_at) throw new CausewayError('session_expired');
    if (now.getTime() - row.last_seen_at.getTime() >= TOUCH_EVERY_MS) {
      await this.sessions.touch(row.id, now);
    }
    const policy = await this.policies.forTenant(row.tenant_id);
    return {
      sessionId: row.id,
      userId: row.user_id,
      tenantId: row.tenant_id,
      email: user.email,
      displayName: user.display_name,
      authMethod: row.auth_method,
      secondFactor: row.second_factor,
      secondFactorPending:
        (policy.requireSecondFactor || row.user_has_second_factor) && !row.second_factor,
      ssoRoles: user.sso_roles,
      groups: user.sso_groups,
      kind: user.kind,
    };
  }

  /**
   * Marks the session as confirmed by a second factor. The token changes too, so a token seen
   * before the confirmation (in a shared browser, say) does not gain the confirmed rights.
   */
  async confirmSecondFactor(session: SessionUser): Promise<{ token: string }> {
    const token = randomToken(32);
    const done = await this.sessions.confirmSecondFactor(
      session.tenantId,
      session.sessionId,
      sha256Hex(token),
    );
    if (!done) throw new CausewayError('session_expired');
    this.logger.info({ sessionId: session.sessionId }, 'session confirmed by a second factor');
    return { token };
  }

  async listOwn(user: SessionUser): Promise<SessionView[]> {
    const rows = await this.sessions.listOpen(
      user.tenantId,
      user.userId,
      this.clock.now(),
      this.config.sessionIdleMs,
    );
    return rows.map((r) => this.view(r, user.sessionId));
  }

  /** Ends one of the caller's own sessions; another user's session is answered as missing. */
  async revokeOwn(user: SessionUser, sessionId: string): Promise<void> {
    const done = await this.sessions.revokeOne(
      user.tenantId,
      user.userId,
      sessionId,
      this.clock.now(),
      'revoked by its user',
    );
    if (!done) throw new CausewayError('not_found', 'You have no open session with this id.');
    await this.audit.record({
      tenantId: user.tenantId,
      type: 'auth.session.revoked',
      outcome: 'success',
      actor: `user:${user.userId}`,
      details: { sessionId, userId: user.userId, by: 'user' },
    });
  }

  async logout(user: SessionUser): Promise<void> {
    await this.sessions.revokeOne(
      user.tenantId,
      user.userId,
      user.sessionId,
      this.clock.now(),
      'signed out',
    );
    await this.audit.record({
      tenantId: user.tenantId,
      type: 'auth.signed_out',
      outcome: 'success',
      actor: `user:${user.userId}`,
      details: { sessionId: user.sessionId },
    });
  }

  /** An admin signs a user out everywhere. */
  async revokeAllOfUser(
    tenantSlug: string,
    userId: string,
    actor: string,
  ): Promise<{ revoked: number }> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const user = await this.users.findById(tenant.id, userId);
    if (!user) throw new CausewayError('not_found', 'No user with this id exists in this tenant.');
    const revoked = await this.sessions.revokeAll(
      tenant.id,
      user.id,
      this.clock.now(),
      'revoked by an administrator',
    );
    await this.audit.record({
      tenantId: tenant.id,
      type: 'auth.session.revoked',
      outcome: 'success',
      actor,
      details: { userId, revoked, by: 'administrator' },
    });
    return { revoked };
  }

  private isOpen(row: SessionRow, now: Date): boolean {
    return (
      row.revoked_at === null &&
      row.absolute_expires_at > now &&
      now.getTime() - row.last_seen_at.getTime() < this.config.sessionIdleMs
    );
  }

  private view(row: SessionRow, currentId: string): SessionView {
    const idleEnd = row.last_seen_at.getTime() + this.config.sessionIdleMs;
    return {
      id: row.id,
      authMethod: row.auth_method,
      secondFactor: row.second_factor,
      ip: row.ip,
      userAgent: row.user_agent,
      createdAt: row.created_at.toISOString(),
      lastSeenAt: row.last_seen_at.toISOString(),
      expiresAt: new Date(Math.min(idleEnd, row.absolute_expires_at.getTime())).toISOString(),
      current: row.id === currentId,
    };
  }
}
