import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource, EntityManager } from 'typeorm';
import { errorMessage } from '@causeway/bridge';
import { SYSTEM_SUBJECT } from '../bridge/node-rpc';
import { NodesService } from '../nodes/nodes.service';
import { OutboxService } from '../outbox/outbox.service';
import { WorkspaceKeysRepository, type RotationPolicy } from './workspace-keys.repository';

/**
 * Brings the tenant's key-rotation period to its nodes, which rotate on their own schedule
 * (docs/design/key-rotation.md). Durable twice over: a change is written to the outbox in the
 * transaction that makes it (so it is sent even if this instance stops), and a node that comes
 * back online or restarts is sent the current period again (so one that was offline past the
 * command's deadline still gets it). Each copy carries the tenant's revision of the setting; a
 * node keeps the highest, so order of arrival does not matter.
 */
@Injectable()
export class KeyPolicySync implements OnApplicationBootstrap {
  constructor(
    private readonly repository: WorkspaceKeysRepository,
    private readonly outbox: OutboxService,
    private readonly nodes: NodesService,
    @InjectDataSource() private readonly db: DataSource,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('KeyPolicySync');
  }

  onApplicationBootstrap(): void {
    this.nodes.onNodeReturned((node) => {
      this.resend(node).catch((error: unknown) =>
        this.logger.warn(
          { nodeId: node.id, reason: errorMessage(error) },
          'could not queue the key-rotation period for a returning node',
        ),
      );
    });
  }

  /**
   * Call inside the transaction that changed the tenant's period: raises its revision and
   * queues it for every node of the tenant. Call `notify` once the transaction committed.
   */
  async changed(manager: EntityManager, tenantId: string, actor: string): Promise<void> {
    const policy = await this.repository.nextRevision(manager, tenantId);
    for (const nodeId of await this.repository.activeNodeIds(manager, tenantId)) {
      await this.enqueue(manager, nodeId, policy, actor);
    }
  }

  /** Wakes the outbox publisher after the changing transaction committed. */
  notify(): void {
    this.outbox.notify();
  }

  /** Queues the current period for a node that came back (unless a copy is still unsent). */
  async resend(node: { id: string; tenantId: string }): Promise<void> {
    const queued = await this.db.transaction(async (manager) => {
      const policy = await this.repository.policy(node.tenantId, manager);
      if (!policy) return false;
      if (await this.repository.unsentPolicy(manager, node.id, policy.revision)) return false;
      await this.enqueue(manager, node.id, policy, SYSTEM_SUBJECT);
      return true;
    });
    if (queued) this.outbox.notify();
  }

  private async enqueue(
    manager: EntityManager,
    nodeId: string,
    policy: RotationPolicy,
    subject: string,
  ): Promise<void> {
    await this.outbox.enqueue(manager, {
      nodeId,
      method: 'keys.policy.set',
      payload: {
        tenantId: policy.tenantId,
        rotationDays: policy.rotationDays,
        revision: policy.revision,
      },
      requestId: `key-policy-${policy.tenantId}-r${policy.revision}`,
      principal: { subject, tenantId: policy.tenantId },
    });
  }
}
