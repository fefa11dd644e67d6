import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import {
  assignableScopes,
  CausewayError,
  isPermission,
  isRoleTemplate,
  ROLE_TEMPLATES,
  type Permission,
} from '@causeway/contracts';
import type { Principal } from '../access/principal';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { SmtpMailer } from '../identity/email-codes/mailer';
import { TenantsService } from '../tenants/tenants.service';
import { missingPermissions } from '../roles/roles.service';
import { WorkspacesRepository } from '../workspaces/workspaces.repository';
import {
  createInvitationSchema,
  INVITATION_TTL_DAYS,
  invitationIdSchema,
  type CreatedInvitation,
  type InvitationState,
  type InvitationView,
} from './invitations.dto';
import { InvitationsRepository, type InvitationRow } from './invitations.repository';

const DAY_MS = 24 * 3_600_000;
/** How often assignments of invitations that expired unused are removed. */
const SWEEP_EVERY_MS = 60_000;

export function invitationState(row: InvitationRow, now: Date): InvitationState {
  if (row.revoked_at) return 'revoked';
  if (row.accepted_at) return 'accepted';
  return row.expires_at.getTime() <= now.getTime() ? 'expired' : 'pending';
}

/**
 * Partner invitations: a person (usually from another company) gets one role on one workspace.
 * The invitation creates the partner account if the address is new to the tenant, the
 * assignment, and sends the email. An invitation unused after 14 days stops giving access: its
 * assignment is removed at the person's next sign-in attempt, and by a sweep every minute for
 * anyone still holding a session. Revoking removes the assignment at once, so the very next
 * request is refused.
 */
@Injectable()
export class InvitationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly mailer: SmtpMailer | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly invitations: InvitationsRepository,
    private readonly workspaces: WorkspacesRepository,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('InvitationsService');
    if (config.emailCodes) this.mailer = new SmtpMailer(config.emailCodes.smtp);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweepExpired().catch((err: unknown) =>
        this.logger.warn({ err }, 'invitation sweep failed'),
      );
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.mailer?.close();
  }

  /** The web console's sign-in page for the tenant (its SSO buttons and the emailed code). */
  signInUrl(tenantSlug: string): string {
    return `${this.config.publicUrl}/?tenant=${encodeURIComponent(tenantSlug)}`;
  }

  async create(
    tenantSlug: string,
    workspaceId: string,
    input: unknown,
    caller: Principal,
  ): Promise<CreatedInvitation> {
    const body = parseInput(createInvitationSchema, input, 'invitation');
    const email = body.email.trim().toLowerCase();
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const workspace = await this.workspaces.findInTenant(tenant.id, workspaceId);
    if (!workspace) {
      throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
    }
    const role = await this.resolveRole(tenant.id, body.role);
    if (!assignableScopes(role.permissions).includes('workspace')) {
      throw new CausewayError(
        'validation_failed',
        `The role "${body.role}" grants tenant-wide permissions: it cannot be given on a workspace. Use partner-viewer, partner-editor, or a role without tenant-wide permissions.`,
      );
    }
    const missing = missingPermissions(caller, role.permissions, {
      type: 'workspace',
      workspaceId,
    });
    if (missing.length > 0) {
      await this.audit.record({
        tenantId: tenant.id,
        type: 'access.role.refused',
        outcome: 'failure',
        actor: caller.subject,
        reason: 'permission_not_held',
        details: { role: body.role, workspaceId, missing: missing.join(',') },
      });
      throw new CausewayError(
        'forbidden',
        `You can only invite with a role whose permissions you hold on this workspace; you lack: ${missing.join(', ')}.`,
      );
    }
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + INVITATION_TTL_DAYS * DAY_MS);
    const id = randomUUID();
    const { user, assignmentId } = await this.invitations.transaction(async (manager) => {
      const found = await this.invitations.findOrCreatePartner(manager, tenant.id, email, now);
      const assigned = await this.invitations.assignOnWorkspace(manager, {
        tenantId: tenant.id,
        roleName: body.role,
        roleId: role.id,
        userId: found.id,
        workspaceId,
        now,
        actor: caller.subject,
      });
      if (!assigned) {
        throw new CausewayError(
          'conflict',
          `${email} already holds the role "${body.role}" on this workspace.`,
        );
      }
      await this.invitations.insert(manager, {
        id,
        tenant_id: tenant.id,
        workspace_id: workspaceId,
        email,
        role_name: body.role,
        user_id: found.id,
        assignment_id: assigned,
        created_at: now,
        created_by: caller.subject,
        expires_at: expiresAt,
      });
      return { user: found, assignmentId: assigned };
    });
    if (user.created) {
      await this.audit.record({
        tenantId: tenant.id,
        type: 'admin.user.created',
        outcome: 'success',
        actor: caller.subject,
        details: { userId: user.id, kind: 'partner', invitationId: id },
      });
    }
    await this.audit.record({
      tenantId: tenant.id,
      type: 'access.role.assigned',
      outcome: 'success',
      actor: caller.subject,
      details: {
        assignmentId,
        role: body.role,
        principal: `user:${user.id}`,
        scope: 'workspace',
        workspaceId,
        invitationId: id,
      },
    });
    await this.audit.record({
      tenantId: tenant.id,
      type: 'access.invitation.created',
      outcome: 'success',
      actor: caller.subject,
      details: {
        invitationId: id,
        userId: user.id,
        userKind: user.kind,
        role: body.role,
        workspaceId,
        expiresAt: expiresAt.toISOString(),
      },
    });
    const signInUrl = this.signInUrl(tenant.slug);
    const emailSent = await this.sendEmail(email, {
      tenantName: tenant.name,
      workspaceName: workspace.name,
      inviter: await this.inviterName(tenant.id, tenant.name, caller),
      signInUrl,
      expiresAt,
    });
    return {
      id,
      email,
      role: body.role,
      workspaceId,
      expiresAt: expiresAt.toISOString(),
      signInUrl,
      emailSent,
    };
  }

  async list(tenantSlug: string): Promise<InvitationView[]> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const now = this.clock.now();
    return (await this.invitations.list(tenant.id)).map((r) => view(r, now));
  }

  /**
   * Ends the invitation's access at once (the assignment goes, so the partner's next request is
   * refused, even in a session already open) and marks it revoked. Revoking twice is harmless.
   */
  async revoke(tenantSlug: string, rawId: string, actor: string): Promise<InvitationView> {
    const id = parseInput(invitationIdSchema, rawId, 'invitation id');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const now = this.clock.now();
    const outcome = await this.invitations.transaction(async (manager) => {
      const row = await this.invitations.find(tenant.id, id, manager, true);
      if (!row) {
        throw new CausewayError('not_found', 'No invitation with this id exists in this tenant.');
      }
      if (row.revoked_at) return { row, removed: false, changed: false };
      const removed = row.assignment_id
        ? await this.invitations.removeAssignment(manager, tenant.id, row.assignment_id)
        : false;
      await this.invitations.markRevoked(manager, tenant.id, id, now);
      return { row, removed, changed: true };
    });
    if (outcome.removed) {
      await this.audit.record({
        tenantId: tenant.id,
        type: 'access.role.removed',
        outcome: 'success',
        actor,
        details: {
          assignmentId: outcome.row.assignment_id,
          principal: `user:${outcome.row.user_id}`,
          role: outcome.row.role_name,
          workspaceId: outcome.row.workspace_id,
          invitationId: id,
        },
      });
    }
    // A repeat changes nothing but is recorded too: who asked is part of the record.
    await this.audit.record({
      tenantId: tenant.id,
      type: 'access.invitation.revoked',
      outcome: 'success',
      actor,
      details: {
        invitationId: id,
        userId: outcome.row.user_id,
        workspaceId: outcome.row.workspace_id,
        ...(outcome.changed ? {} : { again: true }),
      },
    });
    const row = await this.invitations.find(tenant.id, id);
    return view(row as InvitationRow, now);
  }

  /**
   * Called when a session opens: the user's invitations that expired unused lose their
   * assignment, and those still valid are marked accepted (first sign-in).
   */
  async onSignIn(tenantId: string, userId: string): Promise<void> {
    const now = this.clock.now();
    await this.recordExpired(
      await this.invitations.removeExpiredAssignments(now, { tenantId, userId }),
    );
    for (const accepted of await this.invitations.accept(tenantId, userId, now)) {
      await this.audit.record({
        tenantId,
        type: 'access.invitation.accepted',
        outcome: 'success',
        actor: `user:${userId}`,
        details: {
          invitationId: accepted.id,
          workspaceId: accepted.workspace_id,
          role: accepted.role_name,
        },
      });
    }
  }

  /** Removes the assignments of every invitation that expired unused; returns how many. */
  async sweepExpired(): Promise<number> {
    const removed = await this.invitations.removeExpiredAssignments(this.clock.now());
    await this.recordExpired(removed);
    return removed.length;
  }

  private async recordExpired(
    removed: Array<{ tenant_id: string; invitation_id: string; assignment_id: string }>,
  ): Promise<void> {
    for (const r of removed) {
      await this.audit.record({
        tenantId: r.tenant_id,
        type: 'access.role.removed',
        outcome: 'success',
        actor: null,
        reason: 'invitation_expired',
        details: { assignmentId: r.assignment_id, invitationId: r.invitation_id },
      });
      await this.audit.record({
        tenantId: r.tenant_id,
        type: 'access.invitation.expired',
        outcome: 'success',
        actor: null,
        details: { invitationId: r.invitation_id, assignmentId: r.assignment_id },
      });
    }
  }

  /** A built-in role by name, or the tenant's custom role of that name. */
  private async resolveRole(
    tenantId: string,
    name: string,
  ): Promise<{ id: string | null; permissions: Permission[] }> {
    if (isRoleTemplate(name))
      return { id: null, permissions: [...ROLE_TEMPLATES[name].permissions] };
    const custom = await this.invitations.customRole(tenantId, name);
    if (!custom) {
      throw new CausewayError(
        'validation_failed',
        `No role named "${name}" exists in this tenant.`,
      );
    }
    return { id: custom.id, permissions: custom.permissions.filter(isPermission) };
  }

  private async inviterName(
    tenantId: string,
    tenantName: string,
    caller: Principal,
  ): Promise<string> {
    if (caller.kind === 'user') {
      const name = await this.invitations.userName(tenantId, caller.access.userId);
      if (name) return name;
    }
    return `The administrators of ${tenantName}`;
  }

  /** The invitation stands even when the mail fails: the admin can pass the link on. */
  private async sendEmail(
    to: string,
    message: Parameters<SmtpMailer['sendInvitation']>[1],
  ): Promise<boolean> {
    if (!this.mailer) return false;
    try {
      await this.mailer.sendInvitation(to, message);
      return true;
    } catch (error) {
      this.logger.warn(
        { reason: error instanceof Error ? error.message : 'mail_failed' },
        'invitation email not sent',
      );
      return false;
    }
  }
}

function view(r: InvitationRow, now: Date): InvitationView {
  return {
    id: r.id,
    email: r.email,
    userId: r.user_id,
    role: r.role_name,
    workspaceId: r.workspace_id,
    workspaceName: r.workspace_name,
    state: invitationState(r, now),
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    expiresAt: r.expires_at.toISOString(),
    acceptedAt: r.accepted_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}
