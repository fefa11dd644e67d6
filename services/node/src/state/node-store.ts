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
