import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../audit/audit.service';
import { NodeRpc } from '../bridge/node-rpc';
import { parseInput } from '../common/validation';
import { TenantsService } from '../tenants/tenants.service';
import { updateWorkspaceSchema, type WorkspaceWithUsage } from './workspaces.dto';
import { WorkspacesRepository } from './workspaces.repository';
import { WorkspacesService } from './workspaces.service';

/**
 * A workspace's storage quota. The node enforces it (an upload that does not fit is refused
 * before a byte is stored), so the node is told first; the control plane records the value only
 * once the node has it, to show it with the workspace. An unreachable node changes nothing.
 */
@Injectable()
export class WorkspaceQuotaService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly workspaces: WorkspacesRepository,
    private readonly views: WorkspacesService,
    private readonly tenants: TenantsService,
    private readonly rpc: NodeRpc,
    private readonly audit: AuditService,
  ) {}

  async update(
    tenantSlug: string,
    id: string,
    input: unknown,
    caller: { requestId: string; subject: string },
  ): Promise<WorkspaceWithUsage> {
    const { quotaBytes } = parseInput(updateWorkspaceSchema, input, 'workspace change');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const workspace = await this.workspaces.findInTenant(tenant.id, id);
    if (!workspace) {
      throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
    }
    if (workspace.state !== 'ready') {
      throw new CausewayError(
        'conflict',
        `The workspace's quota can be set once it is ready (it is ${workspace.state}).`,
      );
    }
    const applied = await this.rpc.call(
      { id: workspace.nodeId, tenantId: tenant.id },
      'workspace.quota.set',
      { workspaceId: id, tenantId: tenant.id, quotaBytes },
      { requestId: caller.requestId, subject: caller.subject, workspaceId: id },
    );
    await this.db.query(
      `UPDATE workspaces SET quota_bytes = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
      [tenant.id, id, applied.quotaBytes],
    );
    await this.audit.record({
      tenantId: tenant.id,
      type: 'admin.workspace.quota_changed',
      outcome: 'success',
      actor: caller.subject,
      details: {
        workspaceId: id,
        quotaBytes: applied.quotaBytes,
        previousQuotaBytes: workspace.quotaBytes,
        usedBytes: applied.usedBytes,
      },
    });
    return { ...(await this.views.get(tenantSlug, id)), usedBytes: applied.usedBytes };
  }
}
