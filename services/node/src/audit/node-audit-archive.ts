import { createPublicKey, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { signingKeyId } from '@causeway/crypto';
import {
  archiveSegment,
  lastSealSlot,
  archivedSegments,
  removeArchivedSegment,
  sealSegment,
  verifyAuditTrailStream,
  type AuditArchive,
  type AuditVerifyProgress,
  type AuditVerifyReport,
  type ChainedEntry,
  type SegmentSigner,
} from '@causeway/audit';
import { isObjectStoreError, type ObjectStore } from '../storage/object-store';
import type { NodeStore } from '../state/node-store';

/** The node's only chain. */
export const NODE_CHAIN = 'node';
const DAY_MS = 86_400_000;
/** Rows of the live log read per page when verifying. */
const VERIFY_PAGE = 5_000;

/** The node's ObjectStore as an audit archive (keys under `audit/node/...`). */
export function objectStoreArchive(store: ObjectStore): AuditArchive {
  return {
    async put(key, data) {
      await store.put(key, Readable.from([data]), data.length);
    },
    async get(key) {
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      } catch (error) {
        if (isObjectStoreError(error, 'NOT_FOUND')) return undefined;
        throw error;
      }
    },
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
  };
}

interface SealRow {
  name: string;
  first_seq: number;
  last_seq: number;
  last_hash: string;
  last_at: string;
}

/**
 * Seals, archives, prunes and verifies the node's hash-chained audit log (`audit_log`). The
 * node's own Ed25519 signing key signs each manifest; segments go to the node's ObjectStore.
 * `audit_seals` indexes what was archived and `audit_chain_state` keeps the head (to detect a
 * truncated tail) and the last entry retention removed.
 */
export class NodeAuditArchiver {
  constructor(
    private readonly store: NodeStore,
    private readonly archive: AuditArchive,
    private readonly now: () => number = Date.now,
  ) {
    store.db.exec(`
      CREATE TABLE IF NOT EXISTS audit_seals (
        name TEXT NOT NULL CONSTRAINT audit_seals_pk PRIMARY KEY,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        last_hash TEXT NOT NULL,
        last_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS audit_signing_keys (
        kid TEXT NOT NULL CONSTRAINT audit_signing_keys_pk PRIMARY KEY,
        public_key_pem TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS audit_seal_runs (
        slot TEXT NOT NULL CONSTRAINT audit_seal_runs_pk PRIMARY KEY
      );
      CREATE TABLE IF NOT EXISTS audit_chain_state (
        id INTEGER NOT NULL CONSTRAINT audit_chain_state_pk PRIMARY KEY CHECK (id = 1),
        pruned_seq INTEGER NOT NULL,
        pruned_hash TEXT NOT NULL
      );`);
  }

  private entries(afterSeq: number): ChainedEntry[] {
    return this.store.db
      .prepare(
        'SELECT seq, prev_hash AS prevHash, hash, body FROM audit_log WHERE seq > ? ORDER BY seq',
      )
      .all(afterSeq) as ChainedEntry[];
  }

  private sealedThrough(): number {
    const row = this.store.db.prepare('SELECT MAX(last_seq) AS s FROM audit_seals').get() as {
      s: number | null;
    };
    return row.s ?? this.anchor()?.seq ?? 0;
  }

  private anchor(): { seq: number; hash: string } | undefined {
    const row = this.store.db
      .prepare('SELECT pruned_seq AS seq, pruned_hash AS hash FROM audit_chain_state WHERE id = 1')
      .get() as { seq: number; hash: string } | undefined;
    return row;
  }

  /** Seals the entries since the last seal into a signed segment; returns its name, if any. */
  async seal(signingKey: KeyObject): Promise<string | undefined> {
    const entries = this.entries(this.sealedThrough());
    if (entries.length === 0) return undefined;
    const keyId = signingKeyId(signingKey);
    // Kept so that segments signed before a key renewal still verify.
    this.store.db
      .prepare('INSERT OR IGNORE INTO audit_signing_keys (kid, public_key_pem) VALUES (?, ?)')
      .run(keyId, publicKeyOf(signingKey).export({ type: 'spki', format: 'pem' }).toString());
    const signer: SegmentSigner = { keyId, privateKey: signingKey };
    const at = (e: ChainedEntry) => (JSON.parse(e.body) as { at: string }).at;
    const sealed = sealSegment(NODE_CHAIN, entries, {
      signer,
      sealedAt: new Date(this.now()),
      at,
    });
    const name = await archiveSegment(this.archive, sealed);
    const m = sealed.manifest;
    this.store.db
      .prepare(
        'INSERT INTO audit_seals (name, first_seq, last_seq, last_hash, last_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(name, m.firstSeq, m.lastSeq, m.lastHash, m.lastAt);
    return name;
  }

  /** Removes archived segments (and their rows) whose last entry is older than `days`. */
  async applyRetention(days: number): Promise<string[]> {
    const cutoff = new Date(this.now() - days * DAY_MS).toISOString();
    const expired = this.store.db
      .prepare('SELECT * FROM audit_seals WHERE last_at < ? ORDER BY first_seq')
      .all(cutoff) as SealRow[];
    const removed: string[] = [];
    for (const seg of expired) {
      this.store.db.transaction(() => {
        this.store.db
          .prepare('DELETE FROM audit_log WHERE seq >= ? AND seq <= ?')
          .run(seg.first_seq, seg.last_seq);
        this.store.db
          .prepare(
            `INSERT INTO audit_chain_state (id, pruned_seq, pruned_hash) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET pruned_seq = excluded.pruned_seq, pruned_hash = excluded.pruned_hash`,
          )
          .run(seg.last_seq, seg.last_hash);
        this.store.db.prepare('DELETE FROM audit_seals WHERE name = ?').run(seg.name);
      })();
      await removeArchivedSegment(this.archive, seg.name);
      removed.push(seg.name);
    }
    return removed;
  }

  /** Public keys of every key that sealed a segment here, by key id. */
  knownKeys(): Map<string, KeyObject> {
    const rows = this.store.db
      .prepare('SELECT kid, public_key_pem AS pem FROM audit_signing_keys')
      .all() as Array<{ kid: string; pem: string }>;
    return new Map(rows.map((r) => [r.kid, createPublicKey(r.pem)]));
  }

  /**
   * Checks the live log and every archived segment against the node's public key(s), streaming:
   * one segment and one page of rows in memory at a time (see `verifyAuditTrailStream`).
   */
  async verify(
    publicKeys: ReadonlyMap<string, KeyObject> = this.knownKeys(),
    options: { pageSize?: number; onProgress?: (progress: AuditVerifyProgress) => void } = {},
  ): Promise<AuditVerifyReport> {
    const indexed = this.store.db.prepare('SELECT name FROM audit_seals').all() as Array<{
      name: string;
    }>;
    return verifyAuditTrailStream({
      chain: NODE_CHAIN,
      segments: archivedSegments(this.archive, NODE_CHAIN),
      indexedSegments: indexed.map((r) => r.name),
      live: () => this.livePages(options.pageSize ?? VERIFY_PAGE),
      keys: publicKeys,
      anchor: this.anchor(),
      onProgress: options.onProgress,
    });
  }

  /**
   * The live log in stored order, a page at a time by keyset on rowid. Pages rather than one
   * `.iterate()` cursor: the verifier awaits the archive between pages, and an open cursor would
   * leave the connection busy for the node's own audit writes meanwhile.
   */
  private *livePages(pageSize: number): Generator<ChainedEntry[]> {
    const page = this.store.db.prepare(
      `SELECT rowid AS rid, seq, prev_hash AS prevHash, hash, body FROM audit_log
        WHERE rowid > ? ORDER BY rowid LIMIT ?`,
    );
    let after = 0;
    for (;;) {
      const rows = page.all(after, pageSize) as Array<ChainedEntry & { rid: number }>;
      if (rows.length === 0) return;
      after = rows[rows.length - 1].rid;
      yield rows.map(({ seq, prevHash, hash, body }) => ({ seq, prevHash, hash, body }));
      if (rows.length < pageSize) return;
    }
  }
}

/**
 * Runs the seal schedule: at each scheduled time (CAUSEWAY_AUDIT_SEAL_TIMES) the entries since
 * the last seal are sealed with the node's current signing key, then retention applies.
 */
export class NodeAuditSchedule {
  constructor(
    private readonly store: NodeStore,
    private readonly archiver: NodeAuditArchiver,
    private readonly options: {
      sealTimes: readonly number[];
      retentionDays: number;
      /** Reads the node's signing key at each seal (it changes at certificate renewal). */
      signingKey: () => KeyObject;
      now?: () => number;
    },
  ) {}

  /**
   * Seals when a scheduled time has passed since the last run; returns the slot, if any. The
   * timer that calls it is NodeAuditScheduler's.
   */
  async tick(): Promise<Date | undefined> {
    const now = new Date((this.options.now ?? Date.now)());
    const slot = lastSealSlot(now, this.options.sealTimes).toISOString();
    if (this.store.db.prepare('SELECT 1 FROM audit_seal_runs WHERE slot = ?').get(slot)) {
      return undefined;
    }
    await this.archiver.seal(this.options.signingKey());
    await this.archiver.applyRetention(this.options.retentionDays);
    this.store.db.prepare('INSERT OR IGNORE INTO audit_seal_runs (slot) VALUES (?)').run(slot);
    return new Date(slot);
  }
}

/** The public half of a signing key, as `verify` wants it. */
export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}
