import type { KeyEventSink } from './key-events';
import type { KeysRepository } from './keys.repository';
import { requireId, type MasterKeys } from './master-keys.service';

export interface DestructionResult {
  workspaceIds: string[];
  masterKeysDestroyed: number;
  dataKeysShredded: number;
}

/**
 * Crypto-shredding. Destroying a workspace removes the sealed bytes of every master key of its
 * chain and the wrapped bytes of every data key, in one transaction, then folds the WAL into
 * node.db (with secure_delete on, so the old bytes are zeroed in the file). Whatever storage
 * still holds the workspace's objects can no longer be decrypted. Rows stay as tombstones
 * without key material, so that a later read answers `key_destroyed` and not "unknown".
 */
export class KeyDestruction {
  constructor(
    private readonly repository: KeysRepository,
    private readonly masterKeys: MasterKeys,
    private readonly events: KeyEventSink,
    private readonly now: () => Date,
  ) {}

  /** Destroys one workspace's keys. Idempotent: a second call destroys nothing more. */
  destroyWorkspace(workspaceId: string): DestructionResult {
    requireId(workspaceId, 'workspace id');
    return this.destroy([workspaceId], (result) => {
      this.events.record({
        code: 'key.workspace_destroyed',
        fields: {
          workspaceId,
          masterKeysDestroyed: result.masterKeysDestroyed,
          dataKeysShredded: result.dataKeysShredded,
        },
      });
    });
  }

  /** Destroys the keys of every workspace of a tenant, and only those. Idempotent. */
  destroyTenant(tenantId: string): DestructionResult {
    requireId(tenantId, 'tenant id');
    return this.destroy(this.repository.workspacesOfTenant(tenantId), (result) => {
      this.events.record({
        code: 'key.tenant_destroyed',
        fields: {
          tenantId,
          workspaces: result.workspaceIds.length,
          masterKeysDestroyed: result.masterKeysDestroyed,
          dataKeysShredded: result.dataKeysShredded,
        },
      });
    });
  }

  private destroy(
    workspaceIds: string[],
    record: (result: DestructionResult) => void,
  ): DestructionResult {
    const at = this.now().toISOString();
    const { destroyedKeys, shredded } = this.repository.transaction(() => {
      let count = 0;
      const keys: string[] = [];
      for (const workspaceId of workspaceIds) {
        count += this.repository.shredDataKeysOf(workspaceId);
        keys.push(...this.repository.destroyMasterKeysOf(workspaceId, at));
        this.repository.finishJobs(workspaceId, 'cancelled', at);
      }
      return { destroyedKeys: keys, shredded: count };
    });
    for (const id of destroyedKeys) this.masterKeys.forget(id);
    this.repository.checkpoint();
    const result = {
      workspaceIds,
      masterKeysDestroyed: destroyedKeys.length,
      dataKeysShredded: shredded,
    };
    record(result);
    return result;
  }
}
