import type { Statement } from 'better-sqlite3';
import type { NodeStore } from '../state/node-store';

/** A tenant's key-rotation period as the node holds it. */
export interface KeyPolicy {
  tenantId: string;
  /** Days between rotations; 0 = no rotation by age. */
  rotationDays: number;
  /** The control plane's revision of the setting; higher wins. */
  revision: number;
  updatedAt: string;
}

/**
 * The rotation period per tenant, persisted in node.db so a restart keeps it and the
 * scheduler never depends on the control plane being reachable. Writes are ordered by the
 * control plane's revision, not by arrival: the outbox and the on-return resend may deliver
 * copies late or twice.
 */
export class KeyPolicies {
  private readonly select: Statement;
  private readonly upsert: Statement;

  constructor(store: NodeStore) {
    this.select = store.db.prepare(
      `SELECT tenant_id AS tenantId, rotation_days AS rotationDays, revision,
              updated_at AS updatedAt
       FROM key_rotation_policies WHERE tenant_id = ?`,
    );
    this.upsert = store.db.prepare(
      `INSERT INTO key_rotation_policies (tenant_id, rotation_days, revision, updated_at)
       VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant_id) DO UPDATE SET
         rotation_days = excluded.rotation_days,
         revision = excluded.revision,
         updated_at = excluded.updated_at
       WHERE excluded.revision > key_rotation_policies.revision`,
    );
  }

  get(tenantId: string): KeyPolicy | undefined {
    return this.select.get(tenantId) as KeyPolicy | undefined;
  }

  /** The period the scheduler applies: undefined (never received) and 0 both mean "do not rotate". */
  rotationDays(tenantId: string): number | undefined {
    return this.get(tenantId)?.rotationDays;
  }

  /**
   * Stores the period when `revision` is newer than the one held. Returns whether it changed
   * anything, and the policy now in force.
   */
  apply(
    tenantId: string,
    rotationDays: number,
    revision: number,
    at: string,
  ): { applied: boolean; policy: KeyPolicy } {
    const applied = this.upsert.run(tenantId, rotationDays, revision, at).changes === 1;
    return { applied, policy: this.get(tenantId) as KeyPolicy };
  }
}
