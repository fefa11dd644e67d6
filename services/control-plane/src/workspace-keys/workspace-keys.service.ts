import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CausewayError, type MethodPayload, type MethodResult } from '@causeway/contracts';
import type { Principal } from '../access/principal';
import { AuditService } from '../audit/audit.service';
import { NodeRpc } from '../bridge/node-rpc';
import type { KeyStatusView, RotationJobView } from './workspace-keys.dto';
import { WorkspaceKeysRepository, type KeyedWorkspace } from './workspace-keys.repository';

/** Who is asking, for which request: becomes the delegation sent to the node. */
export interface KeysCaller {
  principal: Principal;
  requestId: string;
  ip?: string | null;
}

/**
 * Workspace master keys, relayed to the node that holds them: rotation on demand and the key
 * status. The keys themselves never leave the node; the control plane sees versions and jobs.
 */
@Injectable()
export class WorkspaceKeysService {
  constructor(
    private readonly repository: WorkspaceKeysRepository,
    private readonly rpc: NodeRpc,
    private readonly audit: AuditService,
  ) {}

  /**
   * Asks the node to rotate now. The answer is the re-wrap job as it started; the job runs on
   * on the node (see `status`). The request is recorded in the audit trail either way.
   */
  async rotate(caller: KeysCaller, tenant: string, workspaceId: string): Promise<RotationJobView> {
    const workspace = await this.workspace(tenant, workspaceId);
    const jobId = randomUUID();
    const details = { workspaceId: workspace.id, nodeId: workspace.nodeId, jobId };
    let job: RotationJobView;
    try {
      job = await this.call(caller, workspace, 'keys.rotate', {
        workspaceId: workspace.id,
        tenantId: workspace.tenantId,
        jobId,
      });
    } catch (error) {
      await this.record(caller, workspace, details, error);
      throw error;
    }
    await this.record(caller, workspace, { ...details, keyVersion: job.keyVersion });
    return job;
  }

  async status(caller: KeysCaller, tenant: string, workspaceId: string): Promise<KeyStatusView> {
    const workspace = await this.workspace(tenant, workspaceId);
    return this.call(caller, workspace, 'keys.status', { workspaceId: workspace.id });
  }

  /** The workspace in the tenant named by the path (the guard checked the caller's tenant). */
  private async workspace(tenant: string, workspaceId: string): Promise<KeyedWorkspace> {
    const workspace = await this.repository.workspace(tenant, workspaceId);
    if (!workspace) {
      throw new CausewayError('not_found', 'No workspace with this id exists in this tenant.');
    }
    if (workspace.state !== 'ready') {
      throw new CausewayError(
        'conflict',
        `The workspace has no keys to manage now (it is ${workspace.state}).`,
      );
    }
    return workspace;
  }

  private call<M extends 'keys.rotate' | 'keys.status'>(
    caller: KeysCaller,
    workspace: KeyedWorkspace,
    method: M,
    payload: MethodPayload<M>,
  ): Promise<MethodResult<M>> {
    return this.rpc.call({ id: workspace.nodeId, tenantId: workspace.tenantId }, method, payload, {
      requestId: caller.requestId,
      subject: caller.principal.subject,
      workspaceId: workspace.id,
    });
  }

  private record(
    caller: KeysCaller,
    workspace: KeyedWorkspace,
    details: Record<string, string | number>,
    error?: unknown,
  ): Promise<void> {
    return this.audit.record({
      tenantId: workspace.tenantId,
      type: 'admin.workspace.key_rotation_requested',
      outcome: error === undefined ? 'success' : 'failure',
      actor: caller.principal.subject,
      reason:
        error === undefined ? null : error instanceof CausewayError ? error.code : 'internal_error',
      ip: caller.ip ?? null,
      details,
    });
  }
}
