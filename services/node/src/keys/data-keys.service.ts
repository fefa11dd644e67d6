import { generateDataKey } from '@causeway/crypto';
import type { DataKeyWrapper } from './data-key-wrapper';
import { KeysError } from './keys.errors';
import type { KeysRepository } from './keys.repository';
import { requireId, type MasterKeys } from './master-keys.service';

export interface NewDataKey {
  /** The plaintext key: encrypt the object with it, then zero it (`dataKey.fill(0)`). */
  dataKey: Buffer;
  masterKeyId: string;
}

/**
 * Per-object data keys, stored wrapped under the workspace's master key. Every read of the
 * database and the write that depends on it happen in one synchronous transaction right after
 * the master key is in memory, so a rotation or destruction finishing in between is noticed
 * and the operation retried or refused; a data key is never stored under a destroyed key.
 */
export class DataKeys {
  constructor(
    private readonly repository: KeysRepository,
    private readonly masterKeys: MasterKeys,
    private readonly wrapper: DataKeyWrapper,
    private readonly now: () => Date,
  ) {}

  /**
   * A fresh data key for a new object, stored wrapped under the workspace's active master key.
   * An object id gets one data key for good: a second call is `data_key_exists`.
   */
  async newDataKey(workspaceId: string, tenantId: string, objectId: string): Promise<NewDataKey> {
    requireId(objectId, 'object id');
    for (;;) {
      if (this.repository.dataKey(objectId)) throw exists();
      const master = await this.masterKeys.activeKey(workspaceId, tenantId);
      const outcome = await this.masterKeys.withKey(master.id, (masterKey) =>
        this.repository.transaction(() => {
          if (this.repository.activeMasterKey(workspaceId)?.id !== master.id) return undefined;
          if (this.repository.dataKey(objectId)) throw exists();
          const dataKey = generateDataKey();
          const wrapped = this.wrapper.wrap(dataKey, masterKey, {
            objectId,
            masterKeyId: master.id,
          });
          this.repository.insertDataKey({
            objectId,
            workspaceId,
            masterKeyId: master.id,
            wrappedKey: wrapped,
            createdAt: this.now().toISOString(),
          });
          return { dataKey, masterKeyId: master.id };
        }),
      );
      if (outcome) return outcome;
      // The workspace rotated while we were unsealing: wrap under the new key instead.
    }
  }

  /**
   * The plaintext data key of an object, unwrapped with the master key its row names. After the
   * workspace or tenant was destroyed this is `key_destroyed`; the caller zeroes the result.
   */
  async dataKeyFor(objectId: string): Promise<Buffer> {
    requireId(objectId, 'object id');
    for (;;) {
      const row = this.repository.dataKey(objectId);
      if (!row) throw new KeysError('data_key_not_found', 'No data key for this object.');
      if (row.wrappedKey === null) throw destroyed();
      const master = this.repository.masterKey(row.masterKeyId);
      if (!master || master.state === 'destroyed') throw destroyed();
      const dataKey = await this.masterKeys.withKey(row.masterKeyId, (masterKey) => {
        // Re-read: a rotation batch may have re-wrapped the row while we were unsealing.
        const current = this.repository.dataKey(objectId);
        if (!current) throw new KeysError('data_key_not_found', 'No data key for this object.');
        if (current.wrappedKey === null) throw destroyed();
        if (current.masterKeyId !== row.masterKeyId) return undefined;
        return this.wrapper.unwrap(current.wrappedKey, masterKey, {
          objectId,
          masterKeyId: current.masterKeyId,
        });
      });
      if (dataKey) return dataKey;
    }
  }

  /** Deletes an object's data key (when the object is deleted). Idempotent. */
  deleteDataKey(objectId: string): boolean {
    requireId(objectId, 'object id');
    return this.repository.deleteDataKey(objectId);
  }
}

function exists(): KeysError {
  return new KeysError('data_key_exists', 'This object already has a data key.');
}

function destroyed(): KeysError {
  return new KeysError('key_destroyed', "This object's key was destroyed; its data is unreadable.");
}
