import { fork } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { DataSource } from 'typeorm';
import {
  GENESIS_HASH,
  archiveSegment,
  archivedSegments,
  entryHash,
  sealSegment,
  verifyAuditTrailStream,
  type AuditArchive,
  type AuditVerifyReport,
  type ChainedEntry,
} from '@causeway/audit';
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

const SEGMENT_EVENTS = 100_000;
const LIVE_PAGE = 5_000;
const BENCH_AT = '2026-01-01T00:00:00.000Z';

/** An archive in a directory: the storage stand-in, read by the verifying process. */
function fileArchive(dir: string): AuditArchive {
  const path = (key: string) => join(dir, ...key.split('/'));
  return {
    async put(key, data) {
      await mkdir(dirname(path(key)), { recursive: true });
      await writeFile(path(key), data);
    },
    async get(key) {
      try {
        return await readFile(path(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async list(prefix) {
      const files = await readdir(dir, { recursive: true, withFileTypes: true });
      return files
        .filter((f) => f.isFile())
        .map((f) => relative(dir, join(f.parentPath, f.name)).split(sep).join('/'))
        .filter((k) => k.startsWith(prefix))
        .sort();
    },
    delete: (key) => rm(path(key), { force: true }),
  };
}

/** The entries after `previous`, with a canonical body written directly (keys already sorted). */
function generate(previous: ChainedEntry | undefined, count: number): ChainedEntry[] {
  const out = new Array<ChainedEntry>(count);
  let prev = previous;
  for (let i = 0; i < count; i += 1) {
    const seq = (prev?.seq ?? 0) + 1;
    const prevHash = prev?.hash ?? GENESIS_HASH;
    const body = JSON.stringify({
      at: BENCH_AT,
      code: 'file.downloaded',
      fields: { actor: `user:${seq % 977}`, n: seq, workspaceId: 'w-1' },
    });
    prev = { seq, prevHash, hash: entryHash(seq, prevHash, body), body };
    out[i] = prev;
  }
  return out;
}

/** What the verifying process is given (in VERIFY_CHILD_ENV) and what it answers. */
interface VerifyJob {
  dir: string;
  head: { seq: number; hash: string };
  publicKeyPem: string;
}
interface VerifyResult {
  report: AuditVerifyReport;
  ms: number;
  baselineRss: number;
  peakRss: number;
}
const VERIFY_CHILD_ENV = 'CAUSEWAY_BENCH_AUDIT_VERIFY_JOB';

/**
 * Verification of VERIFY_EVENTS entries laid out as a deployment keeps them: sealed segments of
 * SEGMENT_EVENTS in an archive directory, the rest a live tail read in pages (from a JSONL file
 * standing in for the database). It runs in a fresh process so that its resident memory before
 * verification is not inflated by the generation's heap: the growth measured is the verifier's.
 */
async function benchVerification(): Promise<string[]> {
  const genStart = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-audit-'));
  try {
    const archive = fileArchive(join(dir, 'archive'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const sealedCount = Math.floor((VERIFY_EVENTS - 1) / SEGMENT_EVENTS);
    let previous: ChainedEntry | undefined;
    let archivedBytes = 0;
    for (let s = 0; s < sealedCount; s += 1) {
      const entries = generate(previous, SEGMENT_EVENTS);
      previous = entries[entries.length - 1];
      const sealed = sealSegment('bench', entries, {
        signer: { keyId: 'bench', privateKey },
        sealedAt: new Date(),
        at: () => BENCH_AT,
      });
      archivedBytes += sealed.data.length;
      await archiveSegment(archive, sealed);
    }
    const live = generate(previous, VERIFY_EVENTS - sealedCount * SEGMENT_EVENTS);
    await writeFile(join(dir, 'live.jsonl'), live.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const head = live[live.length - 1];
    const genMs = performance.now() - genStart;

    const job: VerifyJob = {
      dir,
      head: { seq: head.seq, hash: head.hash },
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    const result = await new Promise<VerifyResult>((resolve, reject) => {
      const child = fork(__filename, [], {
        env: { ...process.env, [VERIFY_CHILD_ENV]: JSON.stringify(job) },
        execArgv: ['--expose-gc'],
      });
      child.once('message', (m) => resolve(m as VerifyResult));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the verifying process exited with ${code}`)));
    });
    const { report, ms } = result;
    if (!report.ok || report.entries !== VERIFY_EVENTS || report.segments !== sealedCount) {
      throw new Error(`verification of the generated chain failed: ${JSON.stringify(report)}`);
    }
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    return [
      `verification of ${VERIFY_EVENTS} entries (generated in ${(genMs / 1000).toFixed(1)} s): ${sealedCount} sealed segments of ${SEGMENT_EVENTS} (${mib(archivedBytes)} MiB gzip'd, files) + a live tail of ${live.length} read in pages of ${LIVE_PAGE}, streamed:`,
      `  ${(ms / 1000).toFixed(2)} s, ${(VERIFY_EVENTS / (ms / 1000)).toFixed(0)} entries/s`,
      `  peak RSS growth during verification ${mib(result.peakRss - result.baselineRss)} MiB (RSS before ${mib(result.baselineRss)} MiB)`,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The verifying process: answers the parent with the report, the time and its memory. */
async function verifyJob(job: VerifyJob): Promise<VerifyResult> {
  async function* livePages(): AsyncGenerator<ChainedEntry[]> {
    const lines = createInterface({ input: createReadStream(join(job.dir, 'live.jsonl')) });
    let page: ChainedEntry[] = [];
    for await (const line of lines) {
      if (line === '') continue;
      page.push(JSON.parse(line) as ChainedEntry);
      if (page.length === LIVE_PAGE) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }
  (globalThis as { gc?: () => void }).gc?.();
  const baselineRss = process.memoryUsage.rss();
  let peakRss = baselineRss;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const sampler = setInterval(sample, 20);
  const start = performance.now();
  try {
    const report = await verifyAuditTrailStream({
      chain: 'bench',
      segments: archivedSegments(fileArchive(join(job.dir, 'archive')), 'bench'),
      live: livePages,
      keys: new Map([['bench', createPublicKey(job.publicKeyPem)]]),
      head: job.head,
      onProgress: sample,
    });
    const ms = performance.now() - start;
    sample();
    return { report, ms, baselineRss, peakRss };
  } finally {
    clearInterval(sampler);
  }
}

const childJob = process.env[VERIFY_CHILD_ENV];
if (childJob !== undefined && require.main === module) {
  verifyJob(JSON.parse(childJob) as VerifyJob).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`audit verification failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Durable appends through the control plane's real append path (chain head locked, entry hashed,
 * committed) beside plain single-row INSERTs of the same rows into a plain table, in the same run
 * and database; then verification of one million chained entries (sealed segments and a live
 * tail): its rate and its peak memory.
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

    const verification = await benchVerification();
    const ratio = chainedRate / plainRate;
    process.stdout.write(
      [
        `audit appends (${events} per run, ${WORKERS} connections, durable commits, best of 2):`,
        `  plain INSERT           ${plainRate.toFixed(0).padStart(8)} /s`,
        `  hash-chained append    ${chainedRate.toFixed(0).padStart(8)} /s`,
        ...verification,
        `audit: ratio ${ratio.toFixed(2)}`,
      ].join('\n') + '\n',
    );
  } finally {
    if (db.isInitialized) await db.destroy();
    await database.drop();
  }
}

export const AUDIT_BENCHMARK = {
  summary: 'hash-chained audit appends against plain INSERTs; streaming verification of 1M entries',
  run: runAuditBench,
  hardLimitMs: 600_000,
};
