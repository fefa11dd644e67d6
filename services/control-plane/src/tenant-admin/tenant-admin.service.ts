import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import { AuditService, type AuditDetails } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import type { NodeView } from '../nodes/nodes.dto';
import { NodesService } from '../nodes/nodes.service';
import { TenantEntity } from '../tenants/tenant.entity';
import {
  createTenantWithOwnerSchema,
  createdTenantSchema,
  updateTenantSettingsSchema,
  type TenantView,
} from '../tenants/tenants.dto';
import { TenantsRepository } from '../tenants/tenants.repository';
import { TenantsService } from '../tenants/tenants.service';
import { KeyPolicySync } from '../workspace-keys/key-policy-sync';

export type CreatedTenant = z.infer<typeof createdTenantSchema>;

export function tenantView(t: TenantEntity): TenantView {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    region: t.region,
    retentionDays: t.retentionDays,
    keyRotationDays: t.keyRotationDays,
    state: t.state,
    createdAt: t.createdAt.toISOString(),
  };
}

/** What keeps a tenant in its region: counted when an admin asks to move it elsewhere. */
interface ResidencyHolders {
  nodes: number;
  workspaces: number;
  join_tokens: number;
}

/**
 * Tenants as the platform operator and a tenant's own admins manage them: creation (with the
 * first owner, so someone can run the tenant), the settings, and the data-residency rule that a
 * tenant's region can only change while nothing of it lives in another region.
 */
@Injectable()
export class TenantAdminService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly repository: TenantsRepository,
    private readonly nodeService: NodesService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly keyPolicy: KeyPolicySync,
  ) {}

  /**
   * Creates the tenant and, when an owner is named, their account and a tenant-wide `owner`
   * assignment, in one transaction: a tenant is never left without the owner that was asked for.
   */
  async create(input: unknown, actor: string): Promise<CreatedTenant> {
    const body = parseInput(createTenantWithOwnerSchema, input, 'tenant');
    if (await this.repository.findBySlug(body.slug)) {
      throw new CausewayError(
        'conflict',
        `A tenant with the identifier "${body.slug}" already exists.`,
      );
    }
    const now = this.clock.now();
    const tenantId = randomUUID();
    const owner = body.owner
      ? {
          id: randomUUID(),
          email: body.owner.email.trim().toLowerCase(),
          displayName: body.owner.displayName ?? null,
          assignmentId: randomUUID(),
        }
      : null;
    try {
      await this.db.transaction(async (manager) => {
        await manager.insert(TenantEntity, {
          id: tenantId,
          slug: body.slug,
          name: body.name,
          region: body.region,
        });
        if (owner) await this.insertOwner(manager, tenantId, owner, actor, now);
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new CausewayError(
          'conflict',
          `A tenant with the identifier "${body.slug}" already exists.`,
        );
      }
      throw error;
    }
    await this.audit.record({
      tenantId,
      type: 'admin.tenant.created',
      outcome: 'success',
      actor,
      details: { slug: body.slug, region: body.region },
    });
    if (owner) {
      await this.audit.record({
        tenantId,
        type: 'admin.user.created',
        outcome: 'success',
        actor,
        details: { userId: owner.id, kind: 'member' },
      });
      await this.audit.record({
        tenantId,
        type: 'access.role.assigned',
        outcome: 'success',
        actor,
        details: {
          assignmentId: owner.assignmentId,
          role: 'owner',
          principal: `user:${owner.id}`,
          scope: 'tenant',
        },
      });
    }
    const tenant = (await this.repository.findById(tenantId)) as TenantEntity;
    return { ...tenantView(tenant), owner };
  }

  private async insertOwner(
    manager: EntityManager,
    tenantId: string,
    owner: { id: string; email: string; displayName: string | null; assignmentId: string },
    actor: string,
    now: Date,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO users (id, tenant_id, email, display_name, created_at, kind)
       VALUES ($1, $2, $3, $4, $5, 'member')`,
      [owner.id, tenantId, owner.email, owner.displayName, now],
    );
    await manager.query(
      `INSERT INTO role_assignments
         (id, tenant_id, role_name, role_id, principal, scope_type, workspace_id, folder_path, created_at, created_by)
       VALUES ($1, $2, 'owner', NULL, $3, 'tenant', NULL, NULL, $4, $5)`,
      [owner.assignmentId, tenantId, `user:${owner.id}`, now, actor],
    );
  }

  async list(): Promise<TenantView[]> {
    return (await this.repository.listAll()).map(tenantView);
  }

  async get(slug: string): Promise<TenantView> {
    return tenantView(await this.tenants.getBySlug(slug));
  }

  /**
   * Changes the settings. A new region is refused (`residency_violation`) while the tenant has
   * a node, a workspace or a usable join token in any other region: its data would then live
   * outside the region it declares. The tenant row is locked meanwhile, so a workspace cannot
   * be created on a node of the old region between the check and the change.
   */
  async update(slug: string, input: unknown, actor: string): Promise<TenantView> {
    const change = parseInput(updateTenantSettingsSchema, input, 'tenant settings');
    const tenant = await this.tenants.getBySlug(slug);
    const details: AuditDetails = {};
    await this.db.transaction(async (manager) => {
      const rows = await manager.query<
        Array<{ name: string; region: string; retention_days: number; key_rotation_days: number }>
      >(
        'SELECT name, region, retention_days, key_rotation_days FROM tenants WHERE id = $1 FOR UPDATE',
        [tenant.id],
      );
      const current = rows[0];
      if (!current) throw new CausewayError('not_found', `No tenant "${slug}" exists.`);
      const before = {
        name: current.name,
        region: current.region,
        retentionDays: current.retention_days,
        keyRotationDays: current.key_rotation_days,
      };
      for (const key of ['name', 'region', 'retentionDays', 'keyRotationDays'] as const) {
        const next = change[key];
        if (next !== undefined && next !== before[key]) {
          details[key] = next;
          details[`${key}Before`] = before[key];
        }
      }
      if (change.region !== undefined && change.region !== before.region) {
        await this.assertNothingOutside(manager, tenant.id, change.region);
      }
      if (Object.keys(details).length === 0) return;
      await manager.query(
        `UPDATE tenants SET name = $2, region = $3, retention_days = $4, key_rotation_days = $5
         WHERE id = $1`,
        [
          tenant.id,
          change.name ?? before.name,
          change.region ?? before.region,
          change.retentionDays ?? before.retentionDays,
          change.keyRotationDays ?? before.keyRotationDays,
        ],
      );
      // The nodes rotate by this period: queued for them in this same transaction.
      if (details['keyRotationDays'] !== undefined) {
        await this.keyPolicy.changed(manager, tenant.id, actor);
      }
    });
    if (details['keyRotationDays'] !== undefined) this.keyPolicy.notify();
    if (Object.keys(details).length > 0) {
      await this.audit.record({
        tenantId: tenant.id,
        type: 'config.tenant.changed',
        outcome: 'success',
        actor,
        details,
      });
    }
    return this.get(slug);
  }

  private async assertNothingOutside(
    manager: EntityManager,
    tenantId: string,
    region: string,
  ): Promise<void> {
    const [held] = await manager.query<ResidencyHolders[]>(
      `SELECT
         (SELECT count(*)::int FROM nodes
          WHERE tenant_id = $1 AND revoked_at IS NULL AND region <> $2) AS nodes,
         (SELECT count(*)::int FROM workspaces w JOIN nodes n ON n.id = w.node_id
          WHERE w.tenant_id = $1 AND n.region <> $2) AS workspaces,
         (SELECT count(*)::int FROM join_tokens
          WHERE tenant_id = $1 AND used_at IS NULL AND revoked_at IS NULL
            AND expires_at > $3 AND region <> $2) AS join_tokens`,
      [tenantId, region, this.clock.now()],
    );
    if (!held || held.nodes + held.workspaces + held.join_tokens === 0) return;
    const what = [
      held.nodes ? `${held.nodes} node(s)` : '',
      held.workspaces ? `${held.workspaces} workspace(s)` : '',
      held.join_tokens ? `${held.join_tokens} unused join token(s)` : '',
    ]
      .filter(Boolean)
      .join(', ');
    throw new CausewayError(
      'residency_violation',
      `The tenant still has ${what} outside region "${region}": move or remove them (revoke the tokens) before changing the region.`,
      { nodes: held.nodes, workspaces: held.workspaces, joinTokens: held.join_tokens },
    );
  }

  /** The tenant's nodes, as the platform's node list shows them. */
  async listNodes(slug: string): Promise<NodeView[]> {
    return this.nodeService.list(slug);
  }
}
