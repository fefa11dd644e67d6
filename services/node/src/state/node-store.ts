import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Forward-only schema of the node's own records. Each entry runs once, in order, in its own
 * transaction; a new version is a new entry at the end, never an edit of an old one.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE completed_requests (
     message_id TEXT NOT NULL CONSTRAINT completed_requests_pk PRIMARY KEY,
     method TEXT NOT NULL,
     reply TEXT NOT NULL,
     completed_at TEXT NOT NULL
   );
   CREATE TABLE workspaces (
     id TEXT NOT NULL CONSTRAINT workspaces_pk PRIMARY KEY,
     tenant_id TEXT NOT NULL,
     name TEXT NOT NULL,
     created_at TEXT NOT NULL
   );`,
  // Delegation token ids seen, kept until the token expires (replay protection across restarts),
  // and the node's own hash-chained audit trail.
  `CREATE TABLE seen_tokens (
     jti TEXT NOT NULL CONSTRAINT seen_tokens_pk PRIMARY KEY,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX seen_tokens_expiry ON seen_tokens (expires_at);
   CREATE TABLE audit_log (
     seq INTEGER NOT NULL CONSTRAINT audit_log_pk PRIMARY KEY,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL,
     body TEXT NOT NULL
   );`,
  // Workspace key chains (envelope encryption, services/node/src/keys): the node's keystore key
  // sealed under the node seal secret, master keys sealed under it (one chain per workspace),
  // data keys wrapped under a master key, and resumable re-wrap jobs. A destroyed master key
  // keeps its row with sealed_key NULL; a shredded data key keeps its row with wrapped_key NULL.
  `CREATE TABLE keystore (
     id INTEGER NOT NULL CONSTRAINT keystore_pk PRIMARY KEY CONSTRAINT keystore_single CHECK (id = 1),
     sealed_kek TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE master_keys (
     id TEXT NOT NULL CONSTRAINT master_keys_pk PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     tenant_id TEXT NOT NULL,
     version INTEGER NOT NULL CONSTRAINT master_keys_version_positive CHECK (version >= 1),
     sealed_key TEXT,
     state TEXT NOT NULL
       CONSTRAINT master_keys_state_known CHECK (state IN ('active', 'retiring', 'destroyed')),
     created_at TEXT NOT NULL,
     destroyed_at TEXT,
     CONSTRAINT master_keys_workspace_version_unique UNIQUE (workspace_id, version),
     CONSTRAINT master_keys_sealed_unless_destroyed
       CHECK ((state = 'destroyed') = (sealed_key IS NULL))
   );
   CREATE UNIQUE INDEX master_keys_one_active ON master_keys (workspace_id) WHERE state = 'active';
   CREATE INDEX master_keys_tenant ON master_keys (tenant_id);
   CREATE INDEX master_keys_active_age ON master_keys (state, created_at);
   CREATE TABLE data_keys (
     object_id TEXT NOT NULL CONSTRAINT data_keys_pk PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     master_key_id TEXT NOT NULL CONSTRAINT data_keys_master_key_fk REFERENCES master_keys (id),
     wrapped_key BLOB,
     created_at TEXT NOT NULL
   );
   CREATE INDEX data_keys_workspace_object ON data_keys (workspace_id, object_id);
   CREATE INDEX data_keys_master_key ON data_keys (master_key_id);
   CREATE TABLE key_rotation_jobs (
     id TEXT NOT NULL CONSTRAINT key_rotation_jobs_pk PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     from_key_id TEXT CONSTRAINT key_rotation_jobs_from_fk REFERENCES master_keys (id),
     to_key_id TEXT NOT NULL CONSTRAINT key_rotation_jobs_to_fk REFERENCES master_keys (id),
     state TEXT NOT NULL CONSTRAINT key_rotation_jobs_state_known
       CHECK (state IN ('running', 'done', 'superseded', 'cancelled')),
     cursor TEXT,
     rewrapped INTEGER NOT NULL DEFAULT 0,
     started_at TEXT NOT NULL,
     finished_at TEXT
   );
   CREATE INDEX key_rotation_jobs_state ON key_rotation_jobs (state, workspace_id);`,
  // Workspace files (services/node/src/files, docs/design/files.md). A file's bytes are parts,
  // each its own envelope object; an upload's committed parts are file_parts rows under
  // (upload id, version 0) until the upload completes and they move to the file's version.
  // Deleting a workspace row deletes its file records (its keys and objects go first).
  `ALTER TABLE workspaces ADD COLUMN quota_bytes INTEGER
     CONSTRAINT workspaces_quota_nonnegative CHECK (quota_bytes IS NULL OR quota_bytes >= 0);
   CREATE TABLE files (
     id TEXT NOT NULL CONSTRAINT files_pk PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     folder TEXT NOT NULL,
     name TEXT NOT NULL,
     current_version INTEGER NOT NULL CONSTRAINT files_version_positive CHECK (current_version >= 1),
     size INTEGER NOT NULL CONSTRAINT files_size_nonnegative CHECK (size >= 0),
     sha256 TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE UNIQUE INDEX files_live_name_unique ON files (workspace_id, folder, name);
   CREATE TABLE file_versions (
     file_id TEXT NOT NULL,
     version INTEGER NOT NULL CONSTRAINT file_versions_version_positive CHECK (version >= 1),
     size INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     upload_id TEXT NOT NULL CONSTRAINT file_versions_upload_unique UNIQUE,
     created_at TEXT NOT NULL,
     CONSTRAINT file_versions_pk PRIMARY KEY (file_id, version)
   );
   CREATE TABLE file_parts (
     file_id TEXT NOT NULL,
     version INTEGER NOT NULL CONSTRAINT file_parts_version_nonnegative CHECK (version >= 0),
     part_index INTEGER NOT NULL CONSTRAINT file_parts_index_nonnegative CHECK (part_index >= 0),
     object_id TEXT NOT NULL CONSTRAINT file_parts_object_unique UNIQUE,
     plain_size INTEGER NOT NULL,
     ciphertext_size INTEGER NOT NULL,
     chunk_size INTEGER NOT NULL,
     stream_id TEXT NOT NULL CONSTRAINT file_parts_stream_unique UNIQUE,
     CONSTRAINT file_parts_pk PRIMARY KEY (file_id, version, part_index)
   );
   CREATE TABLE uploads (
     id TEXT NOT NULL CONSTRAINT uploads_pk PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     tenant_id TEXT NOT NULL,
     folder TEXT NOT NULL,
     name TEXT NOT NULL,
     total_size INTEGER NOT NULL CONSTRAINT uploads_size_nonnegative CHECK (total_size >= 0),
     received INTEGER NOT NULL DEFAULT 0,
     parts INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     CONSTRAINT uploads_received_within_size CHECK (received >= 0 AND received <= total_size)
   );
   CREATE INDEX uploads_workspace ON uploads (workspace_id);
   CREATE TRIGGER workspaces_delete_files AFTER DELETE ON workspaces BEGIN
     DELETE FROM file_parts WHERE file_id IN (SELECT id FROM files WHERE workspace_id = OLD.id)
       OR file_id IN (SELECT id FROM uploads WHERE workspace_id = OLD.id);
     DELETE FROM file_versions WHERE file_id IN (SELECT id FROM files WHERE workspace_id = OLD.id);
     DELETE FROM files WHERE workspace_id = OLD.id;
     DELETE FROM uploads WHERE workspace_id = OLD.id;
   END;`,
  // The tenant's master key rotation period, as the control plane last sent it (keys.policy.set);
  // the highest revision wins, so a late copy never undoes a newer setting. 0 days = no rotation.
  `CREATE TABLE key_rotation_policies (
     tenant_id TEXT NOT NULL CONSTRAINT key_rotation_policies_pk PRIMARY KEY,
     rotation_days INTEGER NOT NULL CONSTRAINT key_rotation_policies_days_range
       CHECK (rotation_days >= 0 AND rotation_days <= 3650),
     revision INTEGER NOT NULL CONSTRAINT key_rotation_policies_revision_positive
       CHECK (revision >= 1),
     updated_at TEXT NOT NULL
   );`,
];

/**
 * The node's embedded database (SQLite in its state directory): completed request ids,
 * workspaces, and later keys and audit. An on-prem node needs nothing else.
 */
export class NodeStore {
  private constructor(
    readonly db: Database.Database,
    readonly stateDir: string,
  ) {}

  static open(stateDir: string): NodeStore {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(stateDir, 'node.db'));
    // WAL with synchronous=FULL: a committed transaction survives a crash or power loss.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const store = new NodeStore(db, stateDir);
    store.migrate();
    return store;
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as {
      v: number | null;
    };
    const current = row.v ?? 0;
    MIGRATIONS.forEach((sql, index) => {
      const version = index + 1;
      if (version <= current) return;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
          .run(version, new Date().toISOString());
      })();
    });
  }
}
