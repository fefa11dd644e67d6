import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CausewayError } from '@causeway/contracts';
import { sealSecret, unsealSecret } from '@causeway/crypto';
import { returnedRows } from '../../common/returned-rows';
import { CONFIG, type ControlPlaneConfig } from '../../config/config';
import type { StoredRecoveryCode } from '../mfa/recovery-codes';
import type { SecondFactorStore } from '../mfa/second-factor.store';

/** An authenticator enrolment as the enrolment routes see it. */
export interface TotpEnrolmentRow {
  /** The sealed secret exactly as stored: confirming names it, so a swap in between fails. */
  sealed: string;
  /** Base32; a secret, never logged or returned after enrolment. */
  secret: string;
  lastUsedStep?: number;
  confirmed: boolean;
}

interface Row {
  sealed_secret: string;
  last_used_step: string | null;
  confirmed_at: Date | null;
}

type Returned<T> = T[] | [T[], number];

/** Unsealed secrets kept in memory, so each check does not pay the scrypt stretch again. */
const UNSEALED_CACHE_SIZE = 1000;

/**
 * Authenticator secrets and recovery codes in PostgreSQL, always per tenant and user. The TOTP
 * secret is sealed with CAUSEWAY_CA_SEAL_KEY and bound to its user (a sealed secret copied to
 * another row does not open). Only a confirmed enrolment counts as a second factor. The
 * compare-and-set methods are single conditional UPDATEs, so two concurrent checks cannot both
 * use one time step or one recovery code.
 */
@Injectable()
export class PgSecondFactorStore implements SecondFactorStore {
  private readonly unsealed = new Map<string, string>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  async totp(
    tenantId: string,
    userId: string,
  ): Promise<{ secret: string; lastUsedStep?: number } | undefined> {
    const enrolment = await this.enrolment(tenantId, userId);
    if (!enrolment?.confirmed) return undefined;
    return {
      secret: enrolment.secret,
      ...(enrolment.lastUsedStep === undefined ? {} : { lastUsedStep: enrolment.lastUsedStep }),
    };
  }

  async advanceTotpStep(tenantId: string, userId: string, step: number): Promise<boolean> {
    const rows = returnedRows(
      await this.db.query<Returned<{ user_id: string }>>(
        `UPDATE totp_enrolments SET last_used_step = $3
         WHERE tenant_id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL
           AND (last_used_step IS NULL OR last_used_step < $3)
         RETURNING user_id`,
        [tenantId, userId, step],
      ),
    );
    return rows.length > 0;
  }

  unusedRecoveryCodes(tenantId: string, userId: string): Promise<StoredRecoveryCode[]> {
    return this.db.query<StoredRecoveryCode[]>(
      `SELECT id, code_hash AS hash FROM recovery_codes
       WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL ORDER BY created_at, id`,
      [tenantId, userId],
    );
  }

  async useRecoveryCode(tenantId: string, userId: string, id: string, at: Date): Promise<boolean> {
    const rows = returnedRows(
      await this.db.query<Returned<{ id: string }>>(
        `UPDATE recovery_codes SET used_at = $4
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND used_at IS NULL
         RETURNING id`,
        [tenantId, userId, id, at],
      ),
    );
    return rows.length > 0;
  }

  /** The user's enrolment, confirmed or not, with its secret unsealed. */
  async enrolment(tenantId: string, userId: string): Promise<TotpEnrolmentRow | undefined> {
    const rows = await this.db.query<Row[]>(
      `SELECT sealed_secret, last_used_step, confirmed_at FROM totp_enrolments
       WHERE tenant_id = $1 AND user_id = $2`,
      [tenantId, userId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      sealed: row.sealed_secret,
      secret: await this.unseal(tenantId, userId, row.sealed_secret),
      ...(row.last_used_step === null ? {} : { lastUsedStep: Number(row.last_used_step) }),
      confirmed: row.confirmed_at !== null,
    };
  }

  /** Whether the user has a confirmed enrolment (without unsealing anything). */
  async hasConfirmedTotp(tenantId: string, userId: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      `SELECT 1 FROM totp_enrolments
       WHERE tenant_id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL`,
      [tenantId, userId],
    );
    return rows.length > 0;
  }

  /**
   * Stores a new, unconfirmed enrolment. An existing confirmed one is replaced only when
   * `replaceConfirmed` is true (decided in the same statement); false when it was kept.
   */
  async startEnrolment(
    tenantId: string,
    userId: string,
    secret: string,
    at: Date,
    replaceConfirmed: boolean,
  ): Promise<boolean> {
    const sealed = await sealSecret(secret, this.sealKey(), purpose(tenantId, userId));
    this.forget(tenantId, userId);
    const rows = returnedRows(
      await this.db.query<Returned<{ user_id: string }>>(
        `INSERT INTO totp_enrolments (user_id, tenant_id, sealed_secret, last_used_step, created_at, confirmed_at)
         VALUES ($2, $1, $3, NULL, $4, NULL)
         ON CONFLICT (user_id) DO UPDATE SET
           sealed_secret = EXCLUDED.sealed_secret, last_used_step = NULL,
           created_at = EXCLUDED.created_at, confirmed_at = NULL
         WHERE totp_enrolments.tenant_id = EXCLUDED.tenant_id
           AND (totp_enrolments.confirmed_at IS NULL OR $5::boolean)
         RETURNING user_id`,
        [tenantId, userId, sealed, at, replaceConfirmed],
      ),
    );
    return rows.length > 0;
  }

  /**
   * Confirms the enrolment whose sealed secret is `sealed`, records `step` as used and replaces
   * the recovery codes, in one transaction. False when the enrolment changed or was confirmed
   * meanwhile.
   */
  async confirmEnrolment(
    tenantId: string,
    userId: string,
    sealed: string,
    step: number,
    recoveryCodeHashes: readonly string[],
    at: Date,
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const confirmed = returnedRows(
        await tx.query<Returned<{ user_id: string }>>(
          `UPDATE totp_enrolments SET confirmed_at = $4, last_used_step = $5
           WHERE tenant_id = $1 AND user_id = $2 AND sealed_secret = $3 AND confirmed_at IS NULL
           RETURNING user_id`,
          [tenantId, userId, sealed, at, step],
        ),
      );
      if (confirmed.length === 0) return false;
      await tx.query('DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2', [
        tenantId,
        userId,
      ]);
      for (const hash of recoveryCodeHashes) {
        await tx.query(
          `INSERT INTO recovery_codes (id, user_id, tenant_id, code_hash, created_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [randomUUID(), userId, tenantId, hash, at],
        );
      }
      return true;
    });
  }

  /** Removes the enrolment and every recovery code; false when there was nothing to remove. */
  async remove(tenantId: string, userId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const totp = returnedRows(
        await tx.query<Returned<{ user_id: string }>>(
          'DELETE FROM totp_enrolments WHERE tenant_id = $1 AND user_id = $2 RETURNING user_id',
          [tenantId, userId],
        ),
      );
      const codes = returnedRows(
        await tx.query<Returned<{ id: string }>>(
          'DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2 RETURNING id',
          [tenantId, userId],
        ),
      );
      this.forget(tenantId, userId);
      return totp.length > 0 || codes.length > 0;
    });
  }

  /** Drops the user's unsealed secrets from memory. */
  private forget(tenantId: string, userId: string): void {
    const prefix = `${tenantId}/${userId}/`;
    for (const key of [...this.unsealed.keys()]) {
      if (key.startsWith(prefix)) this.unsealed.delete(key);
    }
  }

  /** The tenant's display name: the issuer authenticator apps show beside the account. */
  async tenantName(tenantId: string): Promise<string | undefined> {
    const rows = await this.db.query<Array<{ name: string }>>(
      'SELECT name FROM tenants WHERE id = $1',
      [tenantId],
    );
    return rows[0]?.name;
  }

  private sealKey(): string {
    const key = this.config.caSealKey;
    if (key === undefined) {
      throw new CausewayError(
        'enrolment_unavailable',
        'Authenticator apps need CAUSEWAY_CA_SEAL_KEY to keep their secrets sealed; ask your operator.',
      );
    }
    return key;
  }

  private async unseal(tenantId: string, userId: string, sealed: string): Promise<string> {
    const cacheKey = `${tenantId}/${userId}/${sealed}`;
    const cached = this.unsealed.get(cacheKey);
    if (cached !== undefined) return cached;
    const secret = await unsealSecret(sealed, this.sealKey(), purpose(tenantId, userId));
    if (this.unsealed.size >= UNSEALED_CACHE_SIZE) {
      const oldest = this.unsealed.keys().next().value;
      if (oldest !== undefined) this.unsealed.delete(oldest);
    }
    this.unsealed.set(cacheKey, secret);
    return secret;
  }
}

/** Binds a sealed secret to its user: it opens only for the row it was written for. */
function purpose(tenantId: string, userId: string): string {
  return `causeway/totp-secret/v1/${tenantId}/${userId}`;
}
