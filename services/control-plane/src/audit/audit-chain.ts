import { GENESIS_HASH, canonicalJson, type ChainedEntry } from '@causeway/audit';

/** The chain of platform events (no tenant); tenants' chains are named by their id. */
export const PLATFORM_CHAIN = 'platform';

export function chainOf(tenantId: string | null): string {
  return tenantId ?? PLATFORM_CHAIN;
}

/** The columns an entry hash covers, as stored in `audit_events`. */
export interface AuditRowContent {
  id: string;
  tenant_id: string | null;
  occurred_at: Date;
  type: string;
  outcome: string;
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/**
 * The canonical body of a control-plane entry: every column but the chain fields, keys sorted.
 * Recomputed from the row when verifying, so an edit to any column breaks the entry's hash.
 */
export function auditEntryBody(row: AuditRowContent): string {
  return canonicalJson({
    actor: row.actor,
    at: row.occurred_at.toISOString(),
    details: row.details,
    id: row.id,
    ip: row.ip,
    outcome: row.outcome,
    reason: row.reason,
    tenantId: row.tenant_id,
    type: row.type,
  });
}

export interface ChainRow extends AuditRowContent {
  chain_seq: string;
  prev_hash: string;
  hash: string;
}

export function rowToEntry(row: ChainRow): ChainedEntry {
  return {
    seq: Number(row.chain_seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    body: auditEntryBody(row),
  };
}

/** Anything that runs a query: a DataSource, an EntityManager inside a transaction. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Appends one event to its chain in a single statement (one round trip). The chain head row is
 * upserted with ON CONFLICT DO UPDATE, which locks it until the statement's transaction commits
 * and always works on its latest version: appends to one chain from any number of connections
 * or instances are serialised, so the chain never forks. The entry hash is computed by
 * PostgreSQL from the body built here: sha256(seq "\n" prevHash "\n" body), exactly
 * `entryHash` of libs/audit (verification recomputes it in JavaScript).
 */
export async function appendToChain(runner: Queryable, row: AuditRowContent): Promise<void> {
  await runner.query(
    `WITH head AS (
       INSERT INTO audit_chains AS c (chain, tenant_id, last_seq, last_hash, head_prev_hash)
       VALUES ($1, $2, 1,
               encode(sha256(convert_to('1' || E'\\n' || $3::text || E'\\n' || $4::text, 'UTF8')), 'hex'),
               $3::text)
       ON CONFLICT (chain) DO UPDATE SET
         head_prev_hash = c.last_hash,
         last_seq = c.last_seq + 1,
         last_hash = encode(sha256(convert_to(
           (c.last_seq + 1)::text || E'\\n' || c.last_hash || E'\\n' || $4::text, 'UTF8')), 'hex')
       RETURNING last_seq, last_hash, head_prev_hash)
     INSERT INTO audit_events
       (id, tenant_id, occurred_at, type, outcome, actor, reason, ip, details,
        chain, chain_seq, prev_hash, hash)
     SELECT $5, $2, $6, $7, $8, $9, $10, $11, $12, $1, last_seq, head_prev_hash, last_hash
       FROM head`,
    [
      chainOf(row.tenant_id),
      row.tenant_id,
      GENESIS_HASH,
      auditEntryBody(row),
      row.id,
      row.occurred_at,
      row.type,
      row.outcome,
      row.actor,
      row.reason,
      row.ip,
      JSON.stringify(row.details),
    ],
  );
}
