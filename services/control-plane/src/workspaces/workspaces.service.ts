import { randomUUID } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { BRIDGE_METHODS, CausewayError } from '@causeway/contracts';
import { AuditService } from '../audit/audit.service';
import { parseInput } from '../common/validation';
import { NodesRepository } from '../nodes/nodes.repository';
import { CommandResults } from '../outbox/command-results';
import { OutboxService } from '../outbox/outbox.service';
import { TenantsService } from '../tenants/tenants.service';
import type { WorkspaceEntity } from './workspace.entity';
import { createWorkspaceSchema, type WorkspaceMember, type WorkspaceView } from './workspaces.dto';
import { WorkspacesRepository } from './workspaces.repository';

@Injectable()
export class WorkspacesService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly workspaces: WorkspacesRepository,
    private readonly nodes: NodesRepository,
    private readonly tenants: TenantsService,
    private readonly outbox: OutboxService,
    private readonly results: CommandResults,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.results.register('workspace.delete', async (manager, command, reply) => {
      const payload = BRIDGE_METHODS['workspace.delete'].payload.parse(command.payload);
      if (!reply.ok) {
        await this.workspaces.settle(manager, payload.tenantId, payload.workspaceId, {
          state: 'failed',
          code: reply.error.code,
          message: reply.error.message,
        });
        return;
      }
      // Assignments and invitations on it go with it (ON DELETE CASCADE).
      await manager.query('DELETE FROM workspaces WHERE tenant_id = $1 AND id = $2', [
        payload.tenantId,
        payload.workspaceId,
      ]);
      await this.audit.record({
        tenantId: payload.tenantId,
        type: 'admin.workspace.deleted',
        outcome: 'success',
        actor: command.principal?.subject ?? null,
        details: { workspaceId: payload.workspaceId },
      });
    });
    this.results.register('workspace.provision', async (manager, command, reply) => {
      const payload = BRIDGE_METHODS['workspace.provision'].payload.parse(command.payload);
      await this.workspaces.settle(
        manager,
        payload.tenantId,
        payload.workspaceId,
        reply.ok
          ? { state: 'ready' }
          : { state: 'failed', code: reply.error.code, message: reply.error.message },
      );
    });
  }

  /**
   * Asks the workspace's node to delete it: the node destroys the workspace's keys (so its data
   * can never be decrypted again), then its files. The workspace shows `deleting` until the
   * node confirms; then it is gone, with its role assignments and invitations. Asking again
   * while it is being deleted changes nothing.
   */
  async delete(
    tenantSlug: string,
    id: string,
    caller: { requestId: string; subject: string },
  ): Promise<WorkspaceView> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const requested = await this.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<Array<{ state: string; node_id: string }>>(
        'SELECT state, node_id FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
        [tenant.id, id],
      );
      if (!row) {
        throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
      }
      if (row.state === 'deleting') return false;
      await manager.query(
        `UPDATE workspaces SET state = 'deleting', updated_at = now() WHERE tenant_id = $1 AND id = $2`,
        [tenant.id, id],
      );
      await this.outbox.enqueue(manager, {
        nodeId: row.node_id,
        method: 'workspace.delete',
        payload: { workspaceId: id, tenantId: tenant.id },
        requestId: caller.requestId,
        principal: { subject: caller.subject, tenantId: tenant.id, workspaceId: id },
      });
      return true;
    });
    if (requested) this.outbox.notify();
    // A repeat (already being deleted) changes nothing but is recorded too.
    await this.audit.record({
      tenantId: tenant.id,
      type: 'admin.workspace.delete_requested',
      outcome: 'success',
      actor: caller.subject,
      details: { workspaceId: id, ...(requested ? {} : { again: true }) },
    });
    return this.get(tenantSlug, id);
  }

  /**
   * Records the workspace and the command that provisions it on its node in one transaction:
   * if the broker is down the command waits in the outbox, and nothing is lost.
   */
  async create(
    tenantSlug: string,
    input: unknown,
    caller: { requestId: string; subject: string },
  ): Promise<WorkspaceView> {
    const { name, node: nodeId } = parseInput(createWorkspaceSchema, input, 'workspace');
    const tenant = await this.tenants.getActiveBySlug(tenantSlug);
    const node = await this.nodes.findById(nodeId);
    // Another tenant's node is answered exactly like a missing one.
    if (!node || node.tenantId !== tenant.id) {
      throw new CausewayError('not_found', 'No node with this id exists in this tenant.');
    }
    if (await this.workspaces.findByName(tenant.id, name)) {
      throw new CausewayError(
        'conflict',
        `Tenant "${tenant.slug}" already has a workspace named "${name}".`,
      );
    }
    const id = randomUUID();
    await this.dataSource.transaction(async (manager) => {
      // Data residency: read under a share lock, so the region cannot change before commit.
      const [current] = await manager.query<Array<{ region: string }>>(
        'SELECT region FROM tenants WHERE id = $1 FOR SHARE',
        [tenant.id],
      );
      if (current?.region !== node.region) {
        throw new CausewayError(
          'residency_violation',
          `Tenant "${tenant.slug}" keeps its data in region "${current?.region ?? tenant.region}"; node "${node.name}" is in region "${node.region}". Choose a node of the tenant's region.`,
          { tenantRegion: current?.region ?? tenant.region, nodeRegion: node.region },
        );
      }
      await this.workspaces.insert(manager, { id, tenantId: tenant.id, nodeId: node.id, name });
      await this.outbox.enqueue(manager, {
        nodeId: node.id,
        method: 'workspace.provision',
        payload: { workspaceId: id, tenantId: tenant.id, name },
        requestId: caller.requestId,
        principal: { subject: caller.subject, tenantId: tenant.id, workspaceId: id },
      });
    });
    this.outbox.notify();
    await this.audit.record({
      tenantId: tenant.id,
      type: 'admin.workspace.created',
      outcome: 'success',
      actor: caller.subject,
      details: { workspaceId: id, nodeId: node.id, name },
    });
    return this.get(tenantSlug, id);
  }

  /**
   * The tenant's workspaces that the caller may see: `all` for the operator and tenant-wide
   * roles, else only those in `visible` (from `UserAccess.workspacesWith`).
   */
  async list(tenantSlug: string, visible: 'all' | ReadonlySet<string>): Promise<WorkspaceView[]> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const rows = await this.workspaces.listForTenant(tenant.id);
    return rows.filter((w) => visible === 'all' || visible.has(w.id)).map(view);
  }

  /**
   * Who holds a role that reaches this workspace: tenant-wide holders (assigned, or mapped from
   * the identity provider), and assignments on this workspace or a folder of it. Nothing about
   * other workspaces, and no disabled account.
   */
  async members(tenantSlug: string, id: string): Promise<WorkspaceMember[]> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const workspace = await this.workspaces.findInTenant(tenant.id, id);
    if (!workspace)
      throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
    return this.workspaces.members(tenant.id, workspace.id);
  }

  async get(tenantSlug: string, id: string): Promise<WorkspaceView> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const workspace = await this.workspaces.findInTenant(tenant.id, id);
    if (!workspace)
      throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
    return view(workspace);
  }
}

function view(w: WorkspaceEntity): WorkspaceView {
  return {
    id: w.id,
    tenantId: w.tenantId,
    nodeId: w.nodeId,
    name: w.name,
    state: w.state,
    error: w.errorCode ? { code: w.errorCode, message: w.errorMessage ?? '' } : null,
    quotaBytes: w.quotaBytes,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}
