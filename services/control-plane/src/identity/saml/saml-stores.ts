import { CacheItem, CacheProvider } from '@node-saml/node-saml';

/** Time source, injected so tests and the replay cache agree on "now". */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/**
 * Where SP-initiated request ids wait for their Response, per tenant. In memory for now; a
 * PostgreSQL implementation replaces it when there is more than one control-plane replica.
 */
export interface SamlRequestStore {
  save(tenantId: string, requestId: string, createdAt: Date, expiresAt: Date): Promise<void>;
  /** The creation time, or null if unknown or expired. */
  get(tenantId: string, requestId: string): Promise<Date | null>;
  remove(tenantId: string, requestId: string): Promise<void>;
}

/**
 * Assertion ids already used, per tenant, kept until the assertion would have expired anyway.
 * `consume` must be atomic (INSERT ... ON CONFLICT DO NOTHING in PostgreSQL).
 */
export interface SamlReplayStore {
  /** Records the id; false if it was already recorded and has not expired. */
  consume(tenantId: string, assertionId: string, expiresAt: Date): Promise<boolean>;
}

export class InMemorySamlRequestStore implements SamlRequestStore {
  private readonly entries = new Map<string, { createdAt: Date; expiresAt: Date }>();

  constructor(private readonly clock: Clock = systemClock) {}

  async save(tenantId: string, requestId: string, createdAt: Date, expiresAt: Date) {
    this.purge();
    this.entries.set(key(tenantId, requestId), { createdAt, expiresAt });
  }

  async get(tenantId: string, requestId: string) {
    const entry = this.entries.get(key(tenantId, requestId));
    if (!entry || entry.expiresAt.getTime() <= this.clock().getTime()) return null;
    return entry.createdAt;
  }

  async remove(tenantId: string, requestId: string) {
    this.entries.delete(key(tenantId, requestId));
  }

  private purge() {
    const now = this.clock().getTime();
    for (const [k, v] of this.entries) if (v.expiresAt.getTime() <= now) this.entries.delete(k);
  }
}

export class InMemorySamlReplayStore implements SamlReplayStore {
  private readonly entries = new Map<string, number>();

  constructor(private readonly clock: Clock = systemClock) {}

  async consume(tenantId: string, assertionId: string, expiresAt: Date) {
    const now = this.clock().getTime();
    for (const [k, until] of this.entries) if (until <= now) this.entries.delete(k);
    const k = key(tenantId, assertionId);
    if (this.entries.has(k)) return false;
    this.entries.set(k, expiresAt.getTime());
    return true;
  }
}

function key(tenantId: string, id: string) {
  return `${tenantId}\u0000${id}`;
}

/**
 * Adapts a tenant's slice of a `SamlRequestStore` to node-saml's `CacheProvider`, so node-saml's
 * own InResponseTo check (`validateInResponseTo: 'always'`) reads the same ids we saved.
 */
export function tenantCacheProvider(
  store: SamlRequestStore,
  tenantId: string,
  ttlMs: number,
  clock: Clock,
): CacheProvider {
  return {
    async saveAsync(requestId: string, value: string): Promise<CacheItem | null> {
      const createdAt = clock();
      await store.save(tenantId, requestId, createdAt, new Date(createdAt.getTime() + ttlMs));
      return { value, createdAt: createdAt.getTime() };
    },
    async getAsync(requestId: string): Promise<string | null> {
      const createdAt = await store.get(tenantId, requestId);
      return createdAt ? createdAt.toISOString() : null;
    },
    async removeAsync(requestId: string | null): Promise<string | null> {
      if (requestId === null) return null;
      const createdAt = await store.get(tenantId, requestId);
      await store.remove(tenantId, requestId);
      return createdAt ? createdAt.toISOString() : null;
    },
  };
}
