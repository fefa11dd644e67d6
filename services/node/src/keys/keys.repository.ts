import type { Database } from 'better-sqlite3';
import type { NodeStore } from '../state/node-store';

export type MasterKeyState = 'active' | 'retiring' | 'destroyed';
export type RotationJobState = 'running' | 'done' | 'superseded' | 'cancelled';

export interface MasterKeyRow {
  id: string;
  workspaceId: string;
  tenantId: string;
  version: number;
  sealedKey: string | null;
  state: MasterKeyState;
  createdAt: string;
  destroyedAt: string | null;
}

export interface DataKeyRow {
  objectId: string;
  workspaceId: string;
  masterKeyId: string;
  wrappedKey: Buffer | null;
  createdAt: string;
}

export interface RotationJobRow {
  id: string;
  workspaceId: string;
  fromKeyId: string | null;
  toKeyId: string;
  state: RotationJobState;
  cursor: string | null;
  rewrapped: number;
  startedAt: string;
  finishedAt: string | null;
}

const MASTER_COLUMNS = `id, workspace_id AS workspaceId, tenant_id AS tenantId, version,
  sealed_key AS sealedKey, state, created_at AS createdAt, destroyed_at AS destroyedAt`;
const DATA_COLUMNS = `object_id AS objectId, workspace_id AS workspaceId,
  master_key_id AS masterKeyId, wrapped_key AS wrappedKey, created_at AS createdAt`;
const JOB_COLUMNS = `id, workspace_id AS workspaceId, from_key_id AS fromKeyId,
  to_key_id AS toKeyId, state, cursor, rewrapped, started_at AS startedAt,
  finished_at AS finishedAt`;

/**
 * All SQL of the keys module, synchronous (better-sqlite3): a caller that holds unsealed keys
 * runs a read-check-write sequence inside `transaction` and nothing else in the process can
 * interleave with it.
 */
export class KeysRepository {
  readonly db: Database;

  constructor(store: NodeStore) {
    this.db = store.db;
    // Deleted or overwritten content (sealed master keys, wrapped data keys) is zeroed in the
    // file instead of lingering in free space. Connection-wide; costs a little write I/O.
    this.db.pragma('secure_delete = ON');
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Folds the WAL into node.db and truncates it, so overwritten pages leave no old copy. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  // --- keystore ---------------------------------------------------------------------------

  sealedKek(): string | undefined {
    const row = this.db.prepare('SELECT sealed_kek AS sealed FROM keystore WHERE id = 1').get() as
      { sealed: string } | undefined;
    return row?.sealed;
  }

  insertSealedKek(sealed: string, at: string): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO keystore (id, sealed_kek, created_at) VALUES (1, ?, ?)')
      .run(sealed, at);
    return result.changes === 1;
  }

  replaceSealedKek(sealed: string, at: string): void {
    this.db
      .prepare('UPDATE keystore SET sealed_kek = ?, created_at = ? WHERE id = 1')
      .run(sealed, at);
    this.checkpoint();
  }

  // --- master keys -------------------------------------------------------------------------

  masterKey(id: string): MasterKeyRow | undefined {
    return this.db.prepare(`SELECT ${MASTER_COLUMNS} FROM master_keys WHERE id = ?`).get(id) as
      MasterKeyRow | undefined;
  }

  activeMasterKey(workspaceId: string): MasterKeyRow | undefined {
    return this.db
      .prepare(
        `SELECT ${MASTER_COLUMNS} FROM master_keys WHERE workspace_id = ? AND state = 'active'`,
      )
      .get(workspaceId) as MasterKeyRow | undefined;
  }

  masterKeysOf(workspaceId: string): MasterKeyRow[] {
    return this.db
      .prepare(`SELECT ${MASTER_COLUMNS} FROM master_keys WHERE workspace_id = ? ORDER BY version`)
      .all(workspaceId) as MasterKeyRow[];
  }

  /** Active keys created before `before` (ISO 8601), oldest first. */
  activeKeysCreatedBefore(before: string): MasterKeyRow[] {
    return this.db
      .prepare(
        `SELECT ${MASTER_COLUMNS} FROM master_keys
         WHERE state = 'active' AND created_at < ? ORDER BY created_at, workspace_id`,
      )
      .all(before) as MasterKeyRow[];
  }

  workspacesOfTenant(tenantId: string): string[] {
    return (
      this.db
        .prepare(
          'SELECT DISTINCT workspace_id AS w FROM master_keys WHERE tenant_id = ? ORDER BY workspace_id',
        )
        .all(tenantId) as { w: string }[]
    ).map((r) => r.w);
  }

  insertMasterKey(row: Omit<MasterKeyRow, 'destroyedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO master_keys (id, workspace_id, tenant_id, version, sealed_key, state, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.workspaceId,
        row.tenantId,
        row.version,
        row.sealedKey,
        row.state,
        row.createdAt,
      );
  }

  nextVersion(workspaceId: string): number {
    const row = this.db
      .prepare('SELECT MAX(version) AS v FROM master_keys WHERE workspace_id = ?')
      .get(workspaceId) as { v: number | null };
    return (row.v ?? 0) + 1;
  }

  retireActive(workspaceId: string): void {
    this.db
      .prepare(
        "UPDATE master_keys SET state = 'retiring' WHERE workspace_id = ? AND state = 'active'",
      )
      .run(workspaceId);
  }

  /** Removes a key's sealed bytes for good. Returns whether it was not destroyed before. */
  destroyMasterKey(id: string, at: string): boolean {
    return (
      this.db
        .prepare(
          `UPDATE master_keys SET state = 'destroyed', sealed_key = NULL, destroyed_at = ?
           WHERE id = ? AND state <> 'destroyed'`,
        )
        .run(at, id).changes === 1
    );
  }

  /** Destroys every key of a workspace; returns the ids that were still alive. */
  destroyMasterKeysOf(workspaceId: string, at: string): string[] {
    const ids = (
      this.db
        .prepare("SELECT id FROM master_keys WHERE workspace_id = ? AND state <> 'destroyed'")
        .all(workspaceId) as { id: string }[]
    ).map((r) => r.id);
    for (const id of ids) this.destroyMasterKey(id, at);
    return ids;
  }

  // --- data keys ---------------------------------------------------------------------------

  dataKey(objectId: string): DataKeyRow | undefined {
    return this.db
      .prepare(`SELECT ${DATA_COLUMNS} FROM data_keys WHERE object_id = ?`)
      .get(objectId) as DataKeyRow | undefined;
  }

  insertDataKey(row: DataKeyRow): void {
    this.db
      .prepare(
        `INSERT INTO data_keys (object_id, workspace_id, master_key_id, wrapped_key, created_at)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(row.objectId, row.workspaceId, row.masterKeyId, row.wrappedKey, row.createdAt);
  }

  deleteDataKey(objectId: string): boolean {
    return this.db.prepare('DELETE FROM data_keys WHERE object_id = ?').run(objectId).changes === 1;
  }

  /** Live data keys of a workspace not under `keyId`, after `cursor` in object id order. */
  dataKeysToRewrap(
    workspaceId: string,
    keyId: string,
    cursor: string | null,
    limit: number,
  ): DataKeyRow[] {
    return this.db
      .prepare(
        `SELECT ${DATA_COLUMNS} FROM data_keys
         WHERE workspace_id = ? AND master_key_id <> ? AND wrapped_key IS NOT NULL
           AND object_id > ?
         ORDER BY object_id LIMIT ?`,
      )
      .all(workspaceId, keyId, cursor ?? '', limit) as DataKeyRow[];
  }

  countLiveDataKeysNotUnder(workspaceId: string, keyId: string): number {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM data_keys
         WHERE workspace_id = ? AND master_key_id <> ? AND wrapped_key IS NOT NULL`,
      )
      .get(workspaceId, keyId) as { n: number };
    return row.n;
  }

  countLiveDataKeysUnder(keyId: string): number {
    const row = this.db
      .prepare(
        'SELECT COUNT(*) AS n FROM data_keys WHERE master_key_id = ? AND wrapped_key IS NOT NULL',
      )
      .get(keyId) as { n: number };
    return row.n;
  }

  replaceWrappedKey(objectId: string, masterKeyId: string, wrapped: Buffer): void {
    this.db
      .prepare('UPDATE data_keys SET master_key_id = ?, wrapped_key = ? WHERE object_id = ?')
      .run(masterKeyId, wrapped, objectId);
  }

  /** Removes the wrapped keys of a workspace; the rows stay as a record that they were shredded. */
  shredDataKeysOf(workspaceId: string): number {
    return this.db
      .prepare(
        'UPDATE data_keys SET wrapped_key = NULL WHERE workspace_id = ? AND wrapped_key IS NOT NULL',
      )
      .run(workspaceId).changes;
  }

  // --- rotation jobs -----------------------------------------------------------------------

  job(id: string): RotationJobRow | undefined {
    return this.db.prepare(`SELECT ${JOB_COLUMNS} FROM key_rotation_jobs WHERE id = ?`).get(id) as
      RotationJobRow | undefined;
  }

  runningJobs(): RotationJobRow[] {
    return this.db
      .prepare(
        `SELECT ${JOB_COLUMNS} FROM key_rotation_jobs WHERE state = 'running' ORDER BY started_at, id`,
      )
      .all() as RotationJobRow[];
  }

  jobsOf(workspaceId: string, limit: number): RotationJobRow[] {
    return this.db
      .prepare(
        `SELECT ${JOB_COLUMNS} FROM key_rotation_jobs WHERE workspace_id = ?
         ORDER BY state = 'running' DESC, started_at DESC, id LIMIT ?`,
      )
      .all(workspaceId, limit) as RotationJobRow[];
  }

  insertJob(row: RotationJobRow): void {
    this.db
      .prepare(
        `INSERT INTO key_rotation_jobs
           (id, workspace_id, from_key_id, to_key_id, state, cursor, rewrapped, started_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.workspaceId,
        row.fromKeyId,
        row.toKeyId,
        row.state,
        row.cursor,
        row.rewrapped,
        row.startedAt,
        row.finishedAt,
      );
  }

  advanceJob(id: string, cursor: string | null, rewrapped: number): void {
    this.db
      .prepare('UPDATE key_rotation_jobs SET cursor = ?, rewrapped = rewrapped + ? WHERE id = ?')
      .run(cursor, rewrapped, id);
  }

  /** Ends running jobs of a workspace (all, or the one named) in `state`. */
  finishJobs(
    workspaceId: string,
    state: Exclude<RotationJobState, 'running'>,
    at: string,
    jobId?: string,
  ): number {
    return this.db
      .prepare(
        `UPDATE key_rotation_jobs SET state = ?, finished_at = ?
         WHERE workspace_id = ? AND state = 'running' AND (? IS NULL OR id = ?)`,
      )
      .run(state, at, workspaceId, jobId ?? null, jobId ?? null).changes;
  }
}
