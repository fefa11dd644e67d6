import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CausewayError } from '@causeway/contracts';
import type { Principal } from '../access/principal';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import { SessionsService } from '../sessions/sessions.service';
import { TenantsService } from '../tenants/tenants.service';
import { createUserSchema, userId as userIdSchema, type UserView } from './roles.dto';
import { TenantUsersRepository, type AdminUserRow } from './tenant-users.repository';

function userView(row: AdminUserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    kind: row.kind,
    disabled: row.disabled_at !== null,
    createdAt: row.created_at.toISOString(),
  };
}

/** The tenant's users as its administrators see them: list, add, disable, enable. */
@Injectable()
export class UsersAdminService {
  constructor(
    private readonly users: TenantUsersRepository,
    private readonly tenants: TenantsService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async list(tenantSlug: string): Promise<{ items: UserView[] }> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    return { items: (await this.users.list(tenant.id)).map(userView) };
  }

  async create(tenantSlug: string, input: unknown, caller: Principal): Promise<UserView> {
    const body = parseInput(createUserSchema, input, 'user');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const row = await this.users.insert(
      tenant.id,
      {
        id: randomUUID(),
        email: body.email,
        displayName: body.displayName ?? null,
        kind: body.kind,
      },
      this.clock.now(),
    );
    if (!row) {
      throw new CausewayError('conflict', 'A user with this email already exists in this tenant.');
    }
    await this.audit.record({
      tenantId: tenant.id,
      type: 'admin.user.created',
      outcome: 'success',
      actor: caller.subject,
      details: { userId: row.id, kind: row.kind },
    });
    return userView(row);
  }

  /** Disables the user and ends all their sessions; they cannot sign in until enabled. */
  async disable(tenantSlug: string, id: string, caller: Principal): Promise<UserView> {
    const userId = parseInput(userIdSchema, id, 'user id');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    if (caller.kind === 'user' && caller.session.userId === userId) {
      throw new CausewayError('validation_failed', 'You cannot disable your own account.');
    }
    const row = await this.users.setDisabled(tenant.id, userId, this.clock.now());
    if (!row) throw new CausewayError('not_found', 'No user with this id exists in this tenant.');
    const { revoked } = await this.sessions.revokeAllOfUser(tenantSlug, row.id, caller.subject);
    await this.audit.record({
      tenantId: tenant.id,
      type: 'admin.user.disabled',
      outcome: 'success',
      actor: caller.subject,
      details: { userId: row.id, sessionsRevoked: revoked },
    });
    return userView(row);
  }

  async enable(tenantSlug: string, id: string, caller: Principal): Promise<UserView> {
    const userId = parseInput(userIdSchema, id, 'user id');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const row = await this.users.setDisabled(tenant.id, userId, null);
    if (!row) throw new CausewayError('not_found', 'No user with this id exists in this tenant.');
    await this.audit.record({
      tenantId: tenant.id,
      type: 'admin.user.enabled',
      outcome: 'success',
      actor: caller.subject,
      details: { userId: row.id },
    });
    return userView(row);
  }
}
