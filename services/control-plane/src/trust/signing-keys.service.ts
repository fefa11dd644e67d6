import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource, EntityManager } from 'typeorm';
import type { ActiveSigningKey } from '@causeway/bridge';
import {
  CausewayError,
  DELEGATION_CLOCK_TOLERANCE_SECONDS,
  MAX_DELEGATION_TTL_SECONDS,
  delegationIssuer,
  type SignedKeySet,
  type SigningKeySet,
  type SigningKeyStatus,
} from '@causeway/contracts';
import {
  generateSigningKeyPair,
  loadSigningPrivateKey,
  loadSigningPublicKey,
  sealPrivateKey,
  signPayload,
  signingKeyId,
  unsealPrivateKey,
} from '@causeway/crypto';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { CertificateAuthorityService } from './certificate-authority';
import { AuditService } from '../audit/audit.service';

/**
 * A retired key stays in the nodes' key set this long, so that tokens it signed just before a
 * rotation still verify. Tokens live at most MAX_DELEGATION_TTL_SECONDS.
 */
export const RETIRED_KEY_GRACE_MS =
  (MAX_DELEGATION_TTL_SECONDS + DELEGATION_CLOCK_TOLERANCE_SECONDS) * 1000;
/** How long an instance signs with the key it read before looking again (other instances rotate too). */
const ACTIVE_KEY_CACHE_MS = 5000;

interface KeyRow {
  kid: string;
  public_key_pem: string;
  sealed_private_key: string | null;
  status: SigningKeyStatus;
  created_at: Date;
  activated_at: Date | null;
  retired_at: Date | null;
}

export interface SigningKeyView {
  kid: string;
  status: SigningKeyStatus;
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  /** Whether nodes still accept tokens it signed. */
  trusted: boolean;
}

/**
 * The control plane's delegation signing keys. One is active; a rotation first announces the
 * next key to the nodes, then makes it active and retires the old one, whose private half is
 * destroyed at once and whose public half leaves the key set after the grace period. Private
 * keys are sealed in PostgreSQL with CAUSEWAY_CA_SEAL_KEY.
 */
@Injectable()
export class SigningKeysService implements OnApplicationBootstrap {
  private active: { key: ActiveSigningKey; readAt: number } | undefined;
  private reading: Promise<ActiveSigningKey> | undefined;
  private readonly unsealed = new Map<string, KeyObject>();
  readonly issuer: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ca: CertificateAuthorityService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
  ) {
    logger.setContext('SigningKeysService');
    this.issuer = delegationIssuer(config.bridgeNamespace);
  }

  get enabled(): boolean {
    return this.ca.enabled;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    await this.ensureActive();
    // Unsealed now, so the first request after a start does not wait for scrypt.
    await this.activeKey();
  }

  /**
   * The key that signs delegations now. Re-read in the background every few seconds so that
   * rotations by other instances spread; requests never wait for that (unsealing costs about a
   * second of scrypt), they sign with the key read before, which nodes trust through the grace.
   */
  activeKey(): Promise<ActiveSigningKey> {
    const cached = this.active;
    if (cached) {
      if (Date.now() - cached.readAt >= ACTIVE_KEY_CACHE_MS && !this.reading) {
        this.reading = this.readActive()
          .catch((error: unknown) => {
            this.logger.warn({ err: error }, 'could not re-read the active signing key');
            return cached.key;
          })
          .finally(() => (this.reading = undefined));
      }
      return Promise.resolve(cached.key);
    }
    this.reading ??= this.readActive().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** The key set nodes pin, signed by the CA. */
  async keySet(): Promise<SignedKeySet> {
    this.requireEnabled();
    const rows = await this.dataSource.query<Array<{ document: string; signature: string }>>(
      'SELECT document, signature FROM signing_key_set WHERE id = 1',
    );
    if (rows[0]) return { document: rows[0].document, signature: rows[0].signature };
    await this.ensureActive();
    return this.keySet();
  }

  async list(): Promise<SigningKeyView[]> {
    this.requireEnabled();
    const rows = await this.dataSource.query<KeyRow[]>(
      'SELECT * FROM signing_keys ORDER BY created_at DESC',
    );
    const now = this.clock.now().getTime();
    return rows.map((r) => ({
      kid: r.kid,
      status: r.status,
      createdAt: r.created_at.toISOString(),
      activatedAt: r.activated_at?.toISOString() ?? null,
      retiredAt: r.retired_at?.toISOString() ?? null,
      trusted: isTrusted(r, now),
    }));
  }

  /** First step of a rotation: a new key, announced to nodes but not yet signing. */
  async prepareRotation(): Promise<{ kid: string; keySet: SignedKeySet }> {
    this.requireEnabled();
    return this.locked(async (manager) => {
      const pending = await manager.query<KeyRow[]>(
        `SELECT * FROM signing_keys WHERE status = 'next'`,
      );
      const kid = pending[0]?.kid ?? (await this.createKey(manager, 'next'));
      return { kid, keySet: await this.publishSet(manager) };
    });
  }

  /** Second step: the announced key signs from now on; the old one is retired and destroyed. */
  async activateNext(): Promise<{
    kid: string;
    retired: string | undefined;
    keySet: SignedKeySet;
  }> {
    this.requireEnabled();
    const result = await this.locked(async (manager) => {
      const next = await manager.query<KeyRow[]>(
        `SELECT * FROM signing_keys WHERE status = 'next'`,
      );
      if (!next[0]) {
        throw new CausewayError(
          'conflict',
          'No announced key to activate; start a rotation first.',
        );
      }
      const now = this.clock.now();
      const old = await manager.query<KeyRow[]>(
        `SELECT * FROM signing_keys WHERE status = 'active'`,
      );
      // The private half is destroyed with the retirement: nothing can sign with it again.
      await manager.query(
        `UPDATE signing_keys SET status = 'retired', retired_at = $1, sealed_private_key = NULL
         WHERE status = 'active'`,
        [now],
      );
      await manager.query(
        `UPDATE signing_keys SET status = 'active', activated_at = $1 WHERE kid = $2`,
        [now, next[0].kid],
      );
      return { kid: next[0].kid, retired: old[0]?.kid, keySet: await this.publishSet(manager) };
    });
    if (result.retired) this.unsealed.delete(result.retired);
    this.active = undefined;
    this.logger.info({ kid: result.kid, retired: result.retired }, 'signing key rotated');
    if (result.retired) {
      await this.audit.record({
        tenantId: null,
        type: 'config.signing_key.retired',
        outcome: 'success',
        actor: null,
        details: { kid: result.retired, successor: result.kid },
      });
    }
    return result;
  }

  /**
   * Drops retired keys past their grace period from the key set. Returns the new set when it
   * changed (to be pushed to nodes), undefined otherwise.
   */
  async dropExpiredRetired(): Promise<SignedKeySet | undefined> {
    if (!this.enabled) return undefined;
    const current = await this.keySet();
    const listed = new Set((JSON.parse(current.document) as SigningKeySet).keys.map((k) => k.kid));
    const now = this.clock.now().getTime();
    const rows = await this.dataSource.query<KeyRow[]>(
      `SELECT * FROM signing_keys WHERE status = 'retired'`,
    );
    if (!rows.some((r) => listed.has(r.kid) && !isTrusted(r, now))) return undefined;
    return this.locked((manager) => this.publishSet(manager));
  }

  private async readActive(): Promise<ActiveSigningKey> {
    this.requireEnabled();
    let rows = await this.dataSource.query<KeyRow[]>(
      `SELECT * FROM signing_keys WHERE status = 'active'`,
    );
    if (!rows[0]) {
      await this.ensureActive();
      rows = await this.dataSource.query<KeyRow[]>(
        `SELECT * FROM signing_keys WHERE status = 'active'`,
      );
    }
    const row = rows[0];
    if (!row?.sealed_private_key) throw new Error('the active signing key has no private key');
    // A key another instance retired is forgotten here too, not kept in memory until restart.
    const previous = this.active?.key.kid;
    if (previous !== undefined && previous !== row.kid) this.unsealed.delete(previous);
    let privateKey = this.unsealed.get(row.kid);
    if (!privateKey) {
      privateKey = loadSigningPrivateKey(
        await unsealPrivateKey(row.sealed_private_key, this.sealKey()),
      );
      this.unsealed.set(row.kid, privateKey);
    }
    const key = { kid: row.kid, privateKey };
    this.active = { key, readAt: Date.now() };
    return key;
  }

  private async ensureActive(): Promise<void> {
    await this.locked(async (manager) => {
      const rows = await manager.query<KeyRow[]>(
        `SELECT kid FROM signing_keys WHERE status = 'active'`,
      );
      if (rows[0]) return;
      const kid = await this.createKey(manager, 'active');
      await this.publishSet(manager);
      this.logger.info({ kid }, 'first delegation signing key created');
      await this.audit.record({
        tenantId: null,
        type: 'config.signing_key.created',
        outcome: 'success',
        actor: null,
        details: { kid },
      });
    });
  }

  private async createKey(manager: EntityManager, status: 'next' | 'active'): Promise<string> {
    const pair = await generateSigningKeyPair();
    const kid = signingKeyId(pair.publicKeyPem);
    const now = this.clock.now();
    // Kept unsealed here: the instance that rotates signs with it at once, without scrypt.
    this.unsealed.set(kid, loadSigningPrivateKey(pair.privateKeyPem));
    await manager.query(
      `INSERT INTO signing_keys (kid, public_key_pem, sealed_private_key, status, created_at, activated_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        kid,
        pair.publicKeyPem,
        await sealPrivateKey(pair.privateKeyPem, this.sealKey()),
        status,
        now,
        status === 'active' ? now : null,
      ],
    );
    return kid;
  }

  /** Writes the next version of the key set, signed by the CA. */
  private async publishSet(manager: EntityManager): Promise<SignedKeySet> {
    const now = this.clock.now();
    const rows = await manager.query<KeyRow[]>('SELECT * FROM signing_keys ORDER BY created_at');
    const previous = await manager.query<Array<{ version: number }>>(
      'SELECT version FROM signing_key_set WHERE id = 1',
    );
    const set: SigningKeySet = {
      v: 1,
      issuer: this.issuer,
      version: (previous[0]?.version ?? 0) + 1,
      issuedAt: now.toISOString(),
      keys: rows
        .filter((r) => isTrusted(r, now.getTime()))
        .map((r) => {
          const jwk = loadSigningPublicKey(r.public_key_pem).export({ format: 'jwk' });
          return {
            kid: r.kid,
            status: r.status,
            jwk: { kty: 'OKP' as const, crv: 'Ed25519' as const, x: String(jwk.x) },
          };
        }),
    };
    const document = JSON.stringify(set);
    const authority = await this.ca.authority();
    const signature = signPayload(authority.keyPem, Buffer.from(document, 'utf8')).toString(
      'base64',
    );
    await manager.query(
      `INSERT INTO signing_key_set (id, version, document, signature, updated_at)
       VALUES (1, $1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET version = $1, document = $2, signature = $3, updated_at = $4`,
      [set.version, document, signature, now],
    );
    return { document, signature };
  }

  /** Serialises key changes across control-plane instances. */
  private locked<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('causeway.signing_keys'))`);
      return work(manager);
    });
  }

  private sealKey(): string {
    return this.requireEnabled();
  }

  private requireEnabled(): string {
    const secret = this.config.caSealKey;
    if (secret === undefined) throw new CausewayError('enrolment_unavailable');
    return secret;
  }
}

function isTrusted(row: KeyRow, now: number): boolean {
  if (row.status !== 'retired') return true;
  return row.retired_at !== null && now - row.retired_at.getTime() < RETIRED_KEY_GRACE_MS;
}
