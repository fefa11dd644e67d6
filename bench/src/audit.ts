import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { appendEntry, sealSegment, verifyAuditTrail, type ChainedEntry } from '@causeway/audit';
import { appendToChain } from '@causeway/control-plane/dist/audit/audit-chain';
import {
  dataSourceOptions,
  runMigrations,
} from '@causeway/control-plane/dist/database/data-source';
import { createTestDatabase } from '@causeway/testing';

/** Appends per phase (CAUSEWAY_BENCH_AUDIT_EVENTS), written by WORKERS connections at once. */
const DEFAULT_EVENTS = 8000;
const WORKERS = 8;
const VERIFY_EVENTS = 1_000_000;

function count(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number`);
  return n;
}

function row(tenant: string, n: number) {
  return {
    id: randomUUID(),
    tenant_id: tenant,
    occurred_at: new Date(),
    type: 'file.downloaded',
    outcome: 'success',
    actor: `user:${randomUUID()}`,
    reason: null,
    ip: '198.51.100.7',
    details: { workspaceId: randomUUID(), fileId: randomUUID(), bytes: n },
  };
}

async function timed(
  total: number,
  one: (worker: number, n: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      for (let n = next++; n < total; n = next++) await one(worker, n);
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

/**
 * Durable appends through the control plane's real append path (chain head locked, entry hashed,
 * committed) beside plain single-row INSERTs of the same rows into a plain table, in the same run
 * and database; then verification speed over one million chained entries in a sealed segment.
 */
export async function runAuditBench(): Promise<void> {
  const events = count('CAUSEWAY_BENCH_AUDIT_EVENTS', DEFAULT_EVENTS);
  const database = await createTestDatabase();
  const db = new DataSource({ ...dataSourceOptions(database.url), extra: { max: WORKERS + 2 } });
  try {
    await runMigrations(database.url);
    await db.initialize();
    const tenants = Array.from({ length: WORKERS }, () => randomUUID());
    for (const [i, t] of tenants.entries()) {
      await db.query(`INSERT INTO tenants (id, slug, name, region) VALUES ($1, $2, 'B', 'eu')`, [
        t,
        `bench-${i}`,
      ]);
    }
    await db.query(`CREATE TABLE plain_events (
      seq bigserial PRIMARY KEY, id uuid NOT NULL, tenant_id uuid, occurred_at timestamptz NOT NULL,
      type text NOT NULL, outcome text NOT NULL, actor text, reason text, ip text,
      details jsonb NOT NULL DEFAULT '{}')`);
    const plain = (worker: number, n: number) => {
      const r = row(tenants[worker], n);
      return db
        .query(
          `INSERT INTO plain_events (id, tenant_id, occurred_at, type, outcome, actor, reason, ip, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            r.id,
            r.tenant_id,
            r.occurred_at,
            r.type,
            r.outcome,
            r.actor,
            r.reason,
            r.ip,
            JSON.stringify(r.details),
          ],
        )
        .then(() => undefined);
    };
    const chained = (worker: number, n: number) => appendToChain(db, row(tenants[worker], n));
    // Warm both paths, then measure plain, chained, plain, chained and keep the better of each.
    await timed(200, plain);
    await timed(200, chained);
    const plainRates = [await timed(events, plain)];
    const chainedRates = [await timed(events, chained)];
    plainRates.push(await timed(events, plain));
    chainedRates.push(await timed(events, chained));
    const plainRate = Math.max(...plainRates);
    const chainedRate = Math.max(...chainedRates);

    // Verification over one million entries: generated in memory, sealed, then verified.
    const genStart = performance.now();
    const entries: ChainedEntry[] = new Array<ChainedEntry>(VERIFY_EVENTS);
    let previous: ChainedEntry | undefined;
    for (let i = 0; i < VERIFY_EVENTS; i += 1) {
      previous = appendEntry(previous, {
        at: '2026-01-01T00:00:00.000Z',
        code: 'file.downloaded',
        fields: { n: i, workspaceId: 'w-1', actor: `user:${i % 977}` },
      });
      entries[i] = previous;
    }
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const sealed = sealSegment('bench', entries, {
      signer: { keyId: 'bench', privateKey },
      sealedAt: new Date(),
      at: () => '2026-01-01T00:00:00.000Z',
    });
    const genMs = performance.now() - genStart;
    // Only the sealed bytes are verified: let the generated entries go.
    entries.length = 0;
    const verifyStart = performance.now();
    const report = verifyAuditTrail({
      chain: 'bench',
      segments: [{ name: 'audit/bench/x', signed: sealed.signed, data: sealed.data }],
      live: [],
      keys: new Map([['bench', publicKey]]),
    });
    const verifyMs = performance.now() - verifyStart;
    if (!report.ok || report.entries !== VERIFY_EVENTS) {
      throw new Error(
        `verification of the generated segment failed: ${JSON.stringify(report.problems[0])}`,
      );
    }
    const ratio = chainedRate / plainRate;
    process.stdout.write(
      [
        `audit appends (${events} per run, ${WORKERS} connections, durable commits, best of 2):`,
        `  plain INSERT           ${plainRate.toFixed(0).padStart(8)} /s`,
        `  hash-chained append    ${chainedRate.toFixed(0).padStart(8)} /s`,
        `verification of ${VERIFY_EVENTS} entries in one sealed segment (${(sealed.data.length / 1048576).toFixed(1)} MiB gzip'd; generated in ${(genMs / 1000).toFixed(1)} s):`,
        `  ${(verifyMs / 1000).toFixed(2)} s, ${(VERIFY_EVENTS / (verifyMs / 1000)).toFixed(0)} entries/s`,
        `audit: ratio ${ratio.toFixed(2)}`,
      ].join('\n') + '\n',
    );
  } finally {
    if (db.isInitialized) await db.destroy();
    await database.drop();
  }
}

export const AUDIT_BENCHMARK = {
  summary: 'hash-chained audit appends against plain INSERTs; verification of 1M entries',
  run: runAuditBench,
  hardLimitMs: 600_000,
};
