import type { KeyObject } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import {
  archiveSegment,
  lastSealSlot,
  archivedSegments,
  prefixedArchive,
  removeArchivedSegment,
  sealSegment,
  verifyAuditTrailStream,
  type AuditArchive,
  type AuditVerifyReport,
  type ChainedEntry,
  type SegmentSigner,
} from '@causeway/audit';
import {
  generateSigningKeyPair,
  loadSigningPrivateKey,
  loadSigningPublicKey,
  sealPrivateKey,
  signingKeyId,
  unsealPrivateKey,
} from '@causeway/crypto';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { rowToEntry, type ChainRow } from './audit-chain';

/** Retention of the platform chain (tenants have their own `retention_days`). */
export const PLATFORM_RETENTION_DAYS = 365;
const TICK_MS = 60_000;
const DAY_MS = 86_400_000;
/** Rows of a chain read per page when verifying. */
const VERIFY_PAGE = 5_000;

const CHAIN_COLUMNS = `id, tenant_id, occurred_at, type, outcome, actor, reason, ip, details,
  chain_seq, prev_hash, hash`;

interface ChainHead {
  chain: string;
  tenant_id: string | null;
  last_seq: string;
  last_hash: string;
  sealed_seq: string;
  sealed_hash: string;
  pruned_seq: string;
  pruned_hash: string;
}

/** Injection token of the archive, so tests and other drivers can replace the directory. */
export const AUDIT_ARCHIVE = Symbol('AuditArchive');

/**
 * Seals, archives, prunes and verifies the control plane's hash-chained audit log. On the
 * schedule (CAUSEWAY_AUDIT_SEAL_TIMES) each chain's entries since its last seal become a gzip'd
 * JSONL segment with a manifest signed by the audit signing key (Ed25519, sealed at rest with
 * CAUSEWAY_CA_SEAL_KEY); retention removes only archived segments, and the rows they hold, older
 * than the tenant's `retention_days`. Several instances may run it: each chain's seal and
 * prune take a transaction-scoped advisory lock.
 */
@Injectable()
export class AuditTrailService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private signer: SegmentSigner | undefined;
  private running: Promise<void> | undefined;
  private scoped: AuditArchive | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    @Inject(AUDIT_ARCHIVE) private readonly store: AuditArchive,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('AuditTrailService');
  }

  onApplicationBootstrap(): void {
    if (this.config.caSealKey === undefined) {
      this.logger.warn(
        'CAUSEWAY_CA_SEAL_KEY is empty: the audit log is hash-chained but not sealed or archived',
      );
      return;
    }
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.error({ err: error }, 'audit sealing failed'))
        .finally(() => (this.running = undefined));
    }, TICK_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /**
   * Seals every chain when a scheduled time has passed since the last run, then applies
   * retention. Returns the slot sealed, or undefined when nothing was due.
   */
  async tick(): Promise<Date | undefined> {
    const now = this.clock.now();
    const slot = lastSealSlot(now, this.config.audit.sealTimes);
    const done = await this.db.query<unknown[]>('SELECT 1 FROM audit_seal_runs WHERE slot = $1', [
      slot,
    ]);
    if (done.length > 0) return undefined;
    await this.sealAll(now);
    await this.applyRetention(now);
    await this.db.query(
      `INSERT INTO audit_seal_runs (slot, finished_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [slot, this.clock.now()],
    );
    return slot;
  }

  async sealAll(now: Date = this.clock.now()): Promise<string[]> {
    const chains = await this.db.query<Array<{ chain: string }>>(
      'SELECT chain FROM audit_chains WHERE last_seq > sealed_seq ORDER BY chain',
    );
    const names: string[] = [];
    for (const { chain } of chains) {
      const name = await this.sealChain(chain, now);
      if (name) names.push(name);
    }
    return names;
  }

  /** Seals one chain's entries since its last seal; returns the segment's name, if any. */
  async sealChain(chain: string, now: Date = this.clock.now()): Promise<string | undefined> {
    const signer = await this.signingKey();
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('audit-seal:' || $1))`, [chain]);
      const [head] = await m.query<ChainHead[]>('SELECT * FROM audit_chains WHERE chain = $1', [
        chain,
      ]);
      if (!head || Number(head.last_seq) <= Number(head.sealed_seq)) return undefined;
      const rows = await m.query<ChainRow[]>(
        `SELECT ${CHAIN_COLUMNS} FROM audit_events
          WHERE chain = $1 AND chain_seq > $2 AND chain_seq <= $3 ORDER BY chain_seq`,
        [chain, head.sealed_seq, head.last_seq],
      );
      const entries = rows.map(rowToEntry);
      const times = new Map(rows.map((r) => [Number(r.chain_seq), r.occurred_at.toISOString()]));
      const sealed = sealSegment(chain, entries, {
        signer,
        sealedAt: now,
        at: (e) => times.get(e.seq) ?? now.toISOString(),
      });
      const name = await archiveSegment(await this.archive(), sealed);
      try {
        const mf = sealed.manifest;
        await m.query(
          `INSERT INTO audit_segments (name, chain, first_seq, last_seq, last_hash, first_at,
             last_at, sealed_at, key_id, manifest, signature)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            name,
            chain,
            mf.firstSeq,
            mf.lastSeq,
            mf.lastHash,
            mf.firstAt,
            mf.lastAt,
            mf.sealedAt,
            mf.keyId,
            sealed.signed.manifest,
            sealed.signed.signature,
          ],
        );
        await m.query(
          'UPDATE audit_chains SET sealed_seq = $2, sealed_hash = $3 WHERE chain = $1',
          [chain, mf.lastSeq, mf.lastHash],
        );
      } catch (error) {
        await removeArchivedSegment(await this.archive(), name).catch(() => undefined);
        throw error;
      }
      this.logger.info({ chain, segment: name, count: entries.length }, 'audit segment sealed');
      return name;
    });
  }

  /**
   * Removes archived segments whose last entry is older than the chain's retention, oldest
   * first, with the rows they hold. Entries not yet sealed are never touched (the database
   * trigger refuses it too). Returns the names of the removed segments.
   */
  async applyRetention(now: Date = this.clock.now()): Promise<string[]> {
    const chains = await this.db.query<Array<{ chain: string; days: number | null }>>(
      `SELECT c.chain, t.retention_days AS days FROM audit_chains c
         LEFT JOIN tenants t ON t.id = c.tenant_id
        WHERE c.sealed_seq > c.pruned_seq`,
    );
    const removed: string[] = [];
    for (const { chain, days } of chains) {
      const cutoff = new Date(now.getTime() - (days ?? PLATFORM_RETENTION_DAYS) * DAY_MS);
      const expired = await this.db.query<Array<{ name: string }>>(
        `SELECT name FROM audit_segments WHERE chain = $1 AND last_at < $2 ORDER BY first_seq`,
        [chain, cutoff],
      );
      for (const { name } of expired) {
        await this.db.transaction(async (m) => {
          await m.query(`SELECT pg_advisory_xact_lock(hashtext('audit-seal:' || $1))`, [chain]);
          const [seg] = await m.query<
            Array<{ first_seq: string; last_seq: string; last_hash: string }>
          >('SELECT first_seq, last_seq, last_hash FROM audit_segments WHERE name = $1', [name]);
          if (!seg) return;
          await m.query(`SET LOCAL causeway.audit_retention = 'on'`);
          await m.query(
            'DELETE FROM audit_events WHERE chain = $1 AND chain_seq >= $2 AND chain_seq <= $3',
            [chain, seg.first_seq, seg.last_seq],
          );
          await m.query(
            `UPDATE audit_chains SET pruned_seq = $2, pruned_hash = $3
              WHERE chain = $1 AND pruned_seq < $2`,
            [chain, seg.last_seq, seg.last_hash],
          );
          await m.query('DELETE FROM audit_segments WHERE name = $1', [name]);
          await removeArchivedSegment(await this.archive(), name);
        });
        removed.push(name);
        this.logger.info({ chain, segment: name }, 'audit segment removed by retention');
      }
    }
    return removed;
  }

  /**
   * Checks one chain, live and archived; `chain` is a tenant id or `platform`. Streams: one
   * archived segment and one page of rows in memory at a time (`verifyAuditTrailStream`), so a
   * chain of any length verifies in flat memory while it is intact.
   */
  async verify(chain: string): Promise<AuditVerifyReport> {
    const [head] = await this.db.query<ChainHead[]>('SELECT * FROM audit_chains WHERE chain = $1', [
      chain,
    ]);
    const indexed = await this.db.query<Array<{ name: string }>>(
      'SELECT name FROM audit_segments WHERE chain = $1',
      [chain],
    );
    return verifyAuditTrailStream({
      chain,
      segments: archivedSegments(await this.archive(), chain),
      indexedSegments: indexed.map((r) => r.name),
      live: () => this.livePages(chain),
      keys: await this.publicKeys(),
      anchor: head ? { seq: Number(head.pruned_seq), hash: head.pruned_hash } : undefined,
      head: head ? { seq: Number(head.last_seq), hash: head.last_hash } : undefined,
    });
  }

  /**
   * A chain's rows in stored order (the global insertion sequence, so re-ordered chain numbers
   * show), a page at a time by keyset on `seq`. Appends to one chain are serialised by its head
   * row, so a row with a lower `seq` is committed before any later one is visible: no page skips
   * a row.
   */
  private async *livePages(chain: string): AsyncGenerator<ChainedEntry[]> {
    let after = '0';
    for (;;) {
      const rows = await this.db.query<Array<ChainRow & { seq: string }>>(
        `SELECT seq, ${CHAIN_COLUMNS} FROM audit_events
          WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT ${VERIFY_PAGE}`,
        [chain, after],
      );
      if (rows.length === 0) return;
      after = rows[rows.length - 1].seq;
      yield rows.map(rowToEntry);
      if (rows.length < VERIFY_PAGE) return;
    }
  }

  /**
   * This deployment's part of the archive: keys under its archive id (a UUID made by the
   * migration), so deployments sharing a directory or bucket never mix their chains.
   */
  async archive(): Promise<AuditArchive> {
    if (this.scoped) return this.scoped;
    const [row] = await this.db.query<Array<{ archive_id: string }>>(
      'SELECT archive_id FROM audit_archive_identity WHERE id = 1',
    );
    if (!row) throw new Error('audit_archive_identity has no row; run the migrations');
    this.scoped = prefixedArchive(this.store, row.archive_id);
    return this.scoped;
  }

  /** Every chain: the platform's and each tenant's. */
  async chains(): Promise<string[]> {
    const rows = await this.db.query<Array<{ chain: string }>>(
      'SELECT chain FROM audit_chains ORDER BY chain',
    );
    return rows.map((r) => r.chain);
  }

  async publicKeys(): Promise<Map<string, KeyObject>> {
    const rows = await this.db.query<Array<{ kid: string; public_key_pem: string }>>(
      'SELECT kid, public_key_pem FROM audit_signing_keys',
    );
    return new Map(rows.map((r) => [r.kid, loadSigningPublicKey(r.public_key_pem)]));
  }

  /** The audit signing key, created at the first seal and shared by every instance. */
  private async signingKey(): Promise<SegmentSigner> {
    if (this.signer) return this.signer;
    const secret = this.config.caSealKey;
    if (secret === undefined) {
      throw new Error('audit sealing needs CAUSEWAY_CA_SEAL_KEY to keep its signing key sealed');
    }
    const row = await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('audit-signing-key'))`);
      const rows = await m.query<Array<{ kid: string; sealed_private_key: string }>>(
        'SELECT kid, sealed_private_key FROM audit_signing_keys ORDER BY created_at DESC LIMIT 1',
      );
      if (rows[0]) return rows[0];
      const pair = await generateSigningKeyPair();
      const kid = signingKeyId(pair.publicKeyPem);
      const sealed = await sealPrivateKey(pair.privateKeyPem, secret);
      await m.query(
        `INSERT INTO audit_signing_keys (kid, public_key_pem, sealed_private_key, created_at)
         VALUES ($1, $2, $3, $4)`,
        [kid, pair.publicKeyPem, sealed, this.clock.now()],
      );
      return { kid, sealed_private_key: sealed };
    });
    const pem = await unsealPrivateKey(row.sealed_private_key, secret);
    this.signer = { keyId: row.kid, privateKey: loadSigningPrivateKey(pem) };
    return this.signer;
  }
}
