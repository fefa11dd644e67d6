/** One issued code. Only the HMAC of the code is kept, never the code itself. */
export interface EmailCodeRecord {
  id: string;
  tenantId: string;
  /** Normalised (trimmed, lower-case). */
  email: string;
  /** Hex HMAC-SHA256 over tenant, email, id and code. */
  hash: string;
  createdAt: Date;
  expiresAt: Date;
  /** Verification attempts so far, successful or not. */
  attempts: number;
  usedAt?: Date;
}

/**
 * Where issued codes live, per tenant. The PostgreSQL version comes with the session work;
 * `recordAttempt` and `markUsed` must each be one conditional UPDATE so concurrent guesses are
 * all counted and a code is used at most once.
 */
export interface EmailCodeStore {
  insert(record: EmailCodeRecord): Promise<void>;
  /** How many codes were issued to the address since `since` (for the hourly limit). */
  countIssuedSince(tenantId: string, email: string, since: Date): Promise<number>;
  /** The newest code issued to the address, used or not. Older ones no longer count. */
  latest(tenantId: string, email: string): Promise<EmailCodeRecord | undefined>;
  /** Adds one attempt and returns the new count. */
  recordAttempt(tenantId: string, id: string): Promise<number>;
  /** Marks the code used if it was not; true if this call used it. */
  markUsed(tenantId: string, id: string, at: Date): Promise<boolean>;
}

/** A process-local EmailCodeStore for unit tests. */
export class InMemoryEmailCodeStore implements EmailCodeStore {
  private readonly records: EmailCodeRecord[] = [];

  async insert(record: EmailCodeRecord): Promise<void> {
    this.records.push({ ...record });
  }

  async countIssuedSince(tenantId: string, email: string, since: Date): Promise<number> {
    return this.records.filter(
      (r) => r.tenantId === tenantId && r.email === email && r.createdAt > since,
    ).length;
  }

  async latest(tenantId: string, email: string): Promise<EmailCodeRecord | undefined> {
    const mine = this.records.filter((r) => r.tenantId === tenantId && r.email === email);
    const newest = mine[mine.length - 1];
    return newest ? { ...newest } : undefined;
  }

  async recordAttempt(tenantId: string, id: string): Promise<number> {
    const record = this.find(tenantId, id);
    if (!record) return Number.POSITIVE_INFINITY;
    record.attempts += 1;
    return record.attempts;
  }

  async markUsed(tenantId: string, id: string, at: Date): Promise<boolean> {
    const record = this.find(tenantId, id);
    if (!record || record.usedAt) return false;
    record.usedAt = at;
    return true;
  }

  private find(tenantId: string, id: string): EmailCodeRecord | undefined {
    return this.records.find((r) => r.tenantId === tenantId && r.id === id);
  }
}
