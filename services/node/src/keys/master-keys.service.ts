import { randomBytes, randomUUID } from 'node:crypto';
import { KeysError } from './keys.errors';
import type { KeyEventSink } from './key-events';
import type { KeysRepository, MasterKeyRow } from './keys.repository';
import type { Keystore } from './keystore';

const KEY_BYTES = 32;

/** A master key as callers see it: never its bytes. */
export interface MasterKeyInfo {
  id: string;
  workspaceId: string;
  tenantId: string;
  version: number;
  createdAt: string;
}

export interface MasterKeysOptions {
  now: () => Date;
  events: KeyEventSink;
  /** How long an unsealed key stays in memory after its last use (default 5 minutes). */
  cacheIdleMs?: number;
}

interface CachedKey {
  key: Buffer;
  lastUsed: number;
}

/**
 * One master key chain per workspace: version 1 is generated on first use, later versions by
 * rotation. Keys are sealed under the keystore at rest; unsealed copies stay in memory only while
 * in use (evicted and zeroed after `cacheIdleMs` idle, on destruction and on close).
 */
export class MasterKeys {
  private readonly cache = new Map<string, CachedKey>();
  private readonly cacheIdleMs: number;
  private closed = false;

  constructor(
    private readonly repository: KeysRepository,
    private readonly keystore: Keystore,
    private readonly options: MasterKeysOptions,
  ) {
    this.cacheIdleMs = options.cacheIdleMs ?? 5 * 60_000;
  }

  /**
   * The workspace's active master key, created (version 1) on first use. A workspace belongs to
   * one tenant for good: naming another tenant is `tenant_mismatch`; a workspace whose keys were
   * destroyed gets no new ones (`key_destroyed`).
   */
  async activeKey(workspaceId: string, tenantId: string): Promise<MasterKeyInfo> {
    requireId(workspaceId, 'workspace id');
    requireId(tenantId, 'tenant id');
    const existing = this.existingActive(workspaceId, tenantId);
    if (existing) return info(existing);

    const id = randomUUID();
    const key = randomBytes(KEY_BYTES);
    const createdAt = this.options.now().toISOString();
    try {
      const sealed = await this.keystore.sealMasterKey(key, {
        id,
        workspaceId,
        tenantId,
        version: 1,
      });
      const created = this.repository.transaction(() => {
        // Someone else may have created it while we were sealing.
        const current = this.existingActive(workspaceId, tenantId);
        if (current) return current;
        const row = {
          id,
          workspaceId,
          tenantId,
          version: 1,
          sealedKey: sealed,
          state: 'active' as const,
          createdAt,
        };
        this.repository.insertMasterKey(row);
        return { ...row, destroyedAt: null };
      });
      if (created.id !== id) return info(created);
      this.remember(id, key);
      this.options.events.record({
        code: 'key.master_created',
        fields: { workspaceId, tenantId, masterKeyId: id, version: 1 },
      });
      return info(created);
    } finally {
      if (!this.cache.has(id)) key.fill(0);
    }
  }

  /**
   * Creates the next version of a workspace's key as active and marks the current one retiring,
   * in one transaction with `inTransaction` (which records the rotation job). The new key's row
   * is sealed before the transaction, so nothing async runs inside it.
   */
  async createNextVersion<T>(
    workspaceId: string,
    inTransaction: (previous: MasterKeyRow, next: MasterKeyInfo) => T,
  ): Promise<{ next: MasterKeyInfo; result: T }> {
    for (;;) {
      const previous = this.repository.activeMasterKey(workspaceId);
      if (!previous) throw this.missingKey(workspaceId);
      const id = randomUUID();
      const key = randomBytes(KEY_BYTES);
      const version = this.repository.nextVersion(workspaceId);
      const binding = { id, workspaceId, tenantId: previous.tenantId, version };
      try {
        const sealed = await this.keystore.sealMasterKey(key, binding);
        const outcome = this.repository.transaction(() => {
          const current = this.repository.activeMasterKey(workspaceId);
          if (current?.id !== previous.id || this.repository.nextVersion(workspaceId) !== version) {
            return undefined; // raced with another rotation or a destruction: start again
          }
          const createdAt = this.options.now().toISOString();
          this.repository.retireActive(workspaceId);
          this.repository.insertMasterKey({
            ...binding,
            sealedKey: sealed,
            state: 'active',
            createdAt,
          });
          const next = { ...binding, createdAt };
          return { next, result: inTransaction(previous, next) };
        });
        if (outcome) {
          this.remember(id, key);
          return outcome;
        }
      } finally {
        if (!this.cache.has(id)) key.fill(0);
      }
    }
  }

  /**
   * Unseals `masterKeyId` (or takes it from the cache) and hands it to `use`, which must be
   * synchronous and must not keep the Buffer: it is shared and zeroed on eviction. Because
   * nothing else runs between the unseal and `use`, `use` may re-check the database and write in
   * one transaction knowing the key is still the one recorded.
   */
  async withKey<T>(masterKeyId: string, use: (key: Buffer) => T): Promise<T> {
    return this.withKeys([masterKeyId], (keys) => use(keys.get(masterKeyId) as Buffer));
  }

  /** `withKey` for several keys at once (a rotation batch reads old versions, writes the new). */
  async withKeys<T>(
    masterKeyIds: readonly string[],
    use: (keys: ReadonlyMap<string, Buffer>) => T,
  ): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (this.closed) throw new KeysError('keys_closed', 'The key services are closed.');
      this.evictIdle();
      for (const id of masterKeyIds) {
        if (!this.cache.has(id)) await this.unsealIntoCache(id);
      }
      // From here on nothing awaits: the keys cannot be evicted before `use` returns.
      const keys = new Map<string, Buffer>();
      const at = this.options.now().getTime();
      for (const id of masterKeyIds) {
        const entry = this.cache.get(id);
        if (!entry) break;
        entry.lastUsed = at;
        keys.set(id, entry.key);
      }
      // One was evicted while we unsealed another (only with a tiny cache period): try again.
      if (keys.size === new Set(masterKeyIds).size) return use(keys);
    }
    throw new KeysError('keys_closed', 'The master keys could not be kept in memory.');
  }

  /** Zeroes and forgets unsealed keys idle for longer than the cache period. */
  evictIdle(): void {
    const limit = this.options.now().getTime() - this.cacheIdleMs;
    for (const [id, entry] of this.cache) {
      if (entry.lastUsed < limit) this.forget(id);
    }
  }

  /** Zeroes and forgets the unsealed copy of a key (after it was destroyed). */
  forget(masterKeyId: string): void {
    const entry = this.cache.get(masterKeyId);
    if (!entry) return;
    entry.key.fill(0);
    this.cache.delete(masterKeyId);
  }

  /** How many unsealed keys are in memory (for tests and diagnostics). */
  cachedKeyCount(): number {
    return this.cache.size;
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.cache.keys()]) this.forget(id);
  }

  private async unsealIntoCache(masterKeyId: string): Promise<void> {
    const row = this.liveRow(masterKeyId);
    const key = await this.keystore.unsealMasterKey(row.sealedKey, row);
    // While we were unsealing, another caller may have cached it, or the key may be destroyed.
    if (this.closed || this.cache.has(masterKeyId)) {
      key.fill(0);
      return;
    }
    try {
      this.liveRow(masterKeyId);
    } catch (error) {
      key.fill(0);
      throw error;
    }
    this.remember(masterKeyId, key);
  }

  private liveRow(masterKeyId: string): MasterKeyRow & { sealedKey: string } {
    const row = this.repository.masterKey(masterKeyId);
    if (!row) throw new KeysError('master_key_not_found', 'No such master key.');
    if (row.state === 'destroyed' || row.sealedKey === null) {
      throw new KeysError(
        'key_destroyed',
        'This master key was destroyed; its data is unreadable.',
      );
    }
    return row as MasterKeyRow & { sealedKey: string };
  }

  private existingActive(workspaceId: string, tenantId: string): MasterKeyRow | undefined {
    const keys = this.repository.masterKeysOf(workspaceId);
    if (keys.some((k) => k.tenantId !== tenantId)) {
      throw new KeysError('tenant_mismatch', 'This workspace belongs to another tenant.');
    }
    const active = keys.find((k) => k.state === 'active');
    if (!active && keys.length > 0) {
      throw new KeysError('key_destroyed', "This workspace's keys were destroyed.");
    }
    return active;
  }

  private missingKey(workspaceId: string): KeysError {
    return this.repository.masterKeysOf(workspaceId).length > 0
      ? new KeysError('key_destroyed', "This workspace's keys were destroyed.")
      : new KeysError('master_key_not_found', 'This workspace has no master key yet.');
  }

  private remember(id: string, key: Buffer): void {
    if (this.closed) return;
    this.cache.set(id, { key, lastUsed: this.options.now().getTime() });
  }
}

function info(row: {
  id: string;
  workspaceId: string;
  tenantId: string;
  version: number;
  createdAt: string;
}): MasterKeyInfo {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    tenantId: row.tenantId,
    version: row.version,
    createdAt: row.createdAt,
  };
}

export function requireId(value: string, what: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new KeysError('invalid_argument', `A ${what} must be 1 to 200 characters.`);
  }
}
