import { randomUUID } from 'node:crypto';
import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../audit/audit.service';
import { returnedRows } from '../common/returned-rows';
import { parseInput } from '../common/validation';
import { NodesService } from '../nodes/nodes.service';
import { deleteTenantSchema } from '../tenants/tenants.dto';
import { TenantsService } from '../tenants/tenants.service';
import { WorkspacesService } from '../workspaces/workspaces.service';

/** How often tenants being deleted are checked for the end of their workspaces' deletion. */
const FINISH_EVERY_MS = 5_000;

/** Names the deletion itself as the actor of what it sends on its own. */
const DELETION_SUBJECT = 'system:tenant-deletion';

/**
 * Deleting a tenant (platform operator only). The tenant stops at once: state `deleting`, every
 * session ended, unused join tokens revoked, no sign-in, workspace or node can be added. Each
 * workspace is deleted the way a single one is (through the node's outbox: the node destroys
 * the workspace's master key, so its data can no longer be decrypted, then its objects). When no
 * workspace is left, the tenant's nodes are revoked and the tenant is `deleted`. Its row and
 * audit events stay; its identifier is not given to another tenant.
 */
@Injectable()
export class TenantDeletion implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly workspaces: WorkspacesService,
    private readonly nodes: NodesService,
    private readonly audit: AuditService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('TenantDeletion');
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      void this.finishAll().catch((err: unknown) =>
        this.logger.error({ err }, 'finishing tenant deletions failed'),
      );
    }, FINISH_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Starts deleting the tenant; asking again re-sends what is still missing. */
  async request(
    slug: string,
    input: unknown,
    caller: { requestId: string; subject: string },
  ): Promise<{ state: 'deleting' | 'deleted'; workspacesDeleting: number }> {
    const { confirm } = parseInput(deleteTenantSchema, input ?? {}, 'confirmation');
    const tenant = await this.tenants.getBySlug(slug);
    if (confirm !== tenant.slug) {
      throw new CausewayError(
        'validation_failed',
        `Deleting a tenant cannot be undone: confirm with {"confirm": "${tenant.slug}"}.`,
      );
    }
    const started = await this.db.transaction(async (manager) => {
      const marked = returnedRows<{ id: string }>(
        await manager.query(
          `UPDATE tenants SET state = 'deleting', deletion_requested_at = now()
           WHERE id = $1 AND state = 'active' RETURNING id`,
          [tenant.id],
        ),
      );
      if (marked.length === 0) return false;
      // Sessions opening concurrently wait on the tenant row (see SessionsRepository.insert).
      await manager.query(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = 'tenant_deleted'
         WHERE tenant_id = $1 AND revoked_at IS NULL`,
        [tenant.id],
      );
      await manager.query(
        `UPDATE join_tokens SET revoked_at = now()
         WHERE tenant_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
        [tenant.id],
      );
      return true;
    });
    if (started) {
      await this.audit.record({
        tenantId: tenant.id,
        type: 'admin.tenant.delete_requested',
        outcome: 'success',
        actor: caller.subject,
        details: { slug: tenant.slug },
      });
      this.logger.warn({ tenantId: tenant.id }, 'tenant deletion requested');
    }
    return this.advance(tenant.id, slug, caller);
  }

  /** Moves every tenant being deleted forward (a workspace created in a race is caught here). */
  async finishAll(): Promise<void> {
    const deleting = await this.db.query<Array<{ id: string; slug: string }>>(
      `SELECT id, slug FROM tenants WHERE state = 'deleting'`,
    );
    for (const { id, slug } of deleting) {
      await this.advance(id, slug, { requestId: randomUUID(), subject: DELETION_SUBJECT });
    }
  }

  /**
   * Sends the deletion of every workspace not yet being deleted; once none is left, revokes the
   * tenant's nodes and marks it deleted.
   */
  private async advance(
    tenantId: string,
    slug: string,
    caller: { requestId: string; subject: string },
  ): Promise<{ state: 'deleting' | 'deleted'; workspacesDeleting: number }> {
    const left = await this.db.query<Array<{ id: string; state: string }>>(
      'SELECT id, state FROM workspaces WHERE tenant_id = $1 ORDER BY created_at, id',
      [tenantId],
    );
    for (const workspace of left) {
      if (workspace.state !== 'deleting') {
        await this.workspaces.delete(slug, workspace.id, caller);
      }
    }
    if (left.length > 0) return { state: 'deleting', workspacesDeleting: left.length };
    const nodes = await this.db.query<Array<{ id: string }>>(
      'SELECT id FROM nodes WHERE tenant_id = $1 AND revoked_at IS NULL',
      [tenantId],
    );
    for (const node of nodes) await this.nodes.revoke(node.id);
    const done = returnedRows<{ id: string }>(
      await this.db.query(
        `UPDATE tenants SET state = 'deleted', deleted_at = now()
         WHERE id = $1 AND state = 'deleting' RETURNING id`,
        [tenantId],
      ),
    );
    if (done.length > 0) {
      await this.audit.record({
        tenantId,
        type: 'admin.tenant.deleted',
        outcome: 'success',
        actor: null,
        details: { nodesRevoked: nodes.length },
      });
      this.logger.warn({ tenantId, nodesRevoked: nodes.length }, 'tenant deleted');
    }
    return { state: 'deleted', workspacesDeleting: 0 };
  }
}
