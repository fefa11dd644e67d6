import type { StoredRecoveryCode } from './recovery-codes';

/**
 * Persistence for second factors, always per tenant and user. The PostgreSQL version comes with
 * the session work; its two compare-and-set methods must be single conditional UPDATEs so that
 * two concurrent sign-ins cannot both use one TOTP step or one recovery code.
 */
export interface SecondFactorStore {
  /** The base32 TOTP secret (decrypted) and the last accepted step, if enrolled. */
  totp(
    tenantId: string,
    userId: string,
  ): Promise<{ secret: string; lastUsedStep?: number } | undefined>;
  /** Stores `step` as the last used one only if it is greater than the stored one; true if stored. */
  advanceTotpStep(tenantId: string, userId: string, step: number): Promise<boolean>;
  unusedRecoveryCodes(tenantId: string, userId: string): Promise<StoredRecoveryCode[]>;
  /** Marks the code used only if it was unused; true if this call used it. */
  useRecoveryCode(tenantId: string, userId: string, id: string, at: Date): Promise<boolean>;
}

interface Row {
  totp?: { secret: string; lastUsedStep?: number };
  recovery: { id: string; hash: string; usedAt?: Date }[];
}

/** A process-local SecondFactorStore for unit tests. */
export class InMemorySecondFactorStore implements SecondFactorStore {
  private readonly rows = new Map<string, Row>();

  private row(tenantId: string, userId: string): Row {
    const id = JSON.stringify([tenantId, userId]);
    let row = this.rows.get(id);
    if (!row) {
      row = { recovery: [] };
      this.rows.set(id, row);
    }
    return row;
  }

  /** Test setup: enrol a secret. */
  setTotp(tenantId: string, userId: string, secret: string): void {
    this.row(tenantId, userId).totp = { secret };
  }

  /** Test setup: replace the recovery codes. */
  setRecoveryCodes(tenantId: string, userId: string, hashes: string[]): void {
    this.row(tenantId, userId).recovery = hashes.map((hash, i) => ({ id: String(i), hash }));
  }

  async totp(tenantId: string, userId: string) {
    const totp = this.row(tenantId, userId).totp;
    return totp ? { ...totp } : undefined;
  }

  async advanceTotpStep(tenantId: string, userId: string, step: number): Promise<boolean> {
    const totp = this.row(tenantId, userId).totp;
    if (!totp || (totp.lastUsedStep !== undefined && totp.lastUsedStep >= step)) return false;
    totp.lastUsedStep = step;
    return true;
  }

  async unusedRecoveryCodes(tenantId: string, userId: string): Promise<StoredRecoveryCode[]> {
    return this.row(tenantId, userId)
      .recovery.filter((r) => !r.usedAt)
      .map(({ id, hash }) => ({ id, hash }));
  }

  async useRecoveryCode(tenantId: string, userId: string, id: string, at: Date): Promise<boolean> {
    const code = this.row(tenantId, userId).recovery.find((r) => r.id === id);
    if (!code || code.usedAt) return false;
    code.usedAt = at;
    return true;
  }
}
