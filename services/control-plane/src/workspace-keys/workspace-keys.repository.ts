import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { returnedRows } from '../common/returned-rows';

/** Where a workspace lives: what a call to its node needs. */
export interface KeyedWorkspace {
  id: string;
  tenantId: string;
  nodeId: string;
  state: string;
}

/** A tenant's rotation period and the revision nodes order copies of it by. */
export interface RotationPolicy {
  tenantId: string;
  rotationDays: number;
  revision: number;
}

/** Every read names the tenant: a workspace is only found in the tenant it belongs to. */
@Injectable()
export class WorkspaceKeysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async workspace(tenantSlug: string, workspaceId: string): Promise<KeyedWorkspace | undefined> {
    const rows = await this.db.query<
      Array<{ id: string; tenant_id: string; node_id: string; state: string }>
    >(
      `SELECT w.id, w.tenant_id, w.node_id, w.state FROM workspaces w
       JOIN tenants t ON t.id = w.tenant_id
       WHERE t.slug = $1 AND w.id = $2`,
      [tenantSlug, workspaceId],
    );
    const row = rows[0];
    return row && { id: row.id, tenantId: row.tenant_id, nodeId: row.node_id, state: row.state };
  }

  /** The tenant's period as it stands (read inside the caller's transaction when given). */
  async policy(tenantId: string, manager?: EntityManager): Promise<RotationPolicy | undefined> {
    const rows = await (manager ?? this.db.manager).query<
      Array<{ key_rotation_days: number; key_rotation_revision: number }>
    >('SELECT key_rotation_days, key_rotation_revision FROM tenants WHERE id = $1', [tenantId]);
    const row = rows[0];
    return (
      row && {
        tenantId,
        rotationDays: row.key_rotation_days,
        revision: row.key_rotation_revision,
      }
    );
  }

  /** Raises the revision after a change of the period, in the changing transaction. */
  async nextRevision(manager: EntityManager, tenantId: string): Promise<RotationPolicy> {
    type Row = { key_rotation_days: number; key_rotation_revision: number };
    const result = await manager.query<Row[] | [Row[], number]>(
      `UPDATE tenants SET key_rotation_revision = key_rotation_revision + 1 WHERE id = $1
       RETURNING key_rotation_days, key_rotation_revision`,
      [tenantId],
    );
    const row = returnedRows(result)[0];
    if (!row) throw new Error(`tenant ${tenantId} vanished while its settings changed`);
    return { tenantId, rotationDays: row.key_rotation_days, revision: row.key_rotation_revision };
  }

  /** Whether this revision of the period is already queued, unsent, for the node. */
  async unsentPolicy(manager: EntityManager, nodeId: string, revision: number): Promise<boolean> {
    const rows = await manager.query<unknown[]>(
      `SELECT 1 FROM outbox
       WHERE node_id = $1 AND method = 'keys.policy.set' AND published_at IS NULL
         AND deadline > now() AND (payload->>'revision')::int = $2
       LIMIT 1`,
      [nodeId, revision],
    );
    return rows.length > 0;
  }

  /** The tenant's nodes that can still receive commands (not revoked). */
  async activeNodeIds(manager: EntityManager, tenantId: string): Promise<string[]> {
    const rows = await manager.query<Array<{ id: string }>>(
      'SELECT id FROM nodes WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id',
      [tenantId],
    );
    return rows.map((r) => r.id);
  }
}
