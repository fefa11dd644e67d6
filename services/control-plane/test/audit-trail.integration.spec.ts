import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '@causeway/testing';
import { parseSealTimes, type AuditArchive, type AuditProblem } from '@causeway/audit';
import { ManualClock } from '../src/common/clock';
import type { ControlPlaneConfig } from '../src/config/config';
import { dataSourceOptions, runMigrations } from '../src/database/data-source';
import { appendToChain } from '../src/audit/audit-chain';
import { DirectoryAuditArchive } from '../src/audit/audit-archive-store';
import { AuditTrailService } from '../src/audit/audit-trail.service';

const quietLogger = {
  setContext: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as PinoLogger;

describe('control-plane audit trail (real PostgreSQL)', () => {
  let database: TestDatabase;
  let db: DataSource;
  let dir: string;
  let clock: ManualClock;
  let trail: AuditTrailService;
  let archive: AuditArchive;
  const tenantId = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase();
    await runMigrations(database.url);
    db = new DataSource(dataSourceOptions(database.url));
    await db.initialize();
    await db.query(
      `INSERT INTO tenants (id, slug, name, region) VALUES ($1, 'acme-audit', 'Acme', 'eu')`,
      [tenantId],
    );
    dir = mkdtempSync(join(tmpdir(), 'cp-audit-'));
    clock = new ManualClock(new Date('2026-01-10T09:00:00Z'));
    const config = {
      caSealKey: 'a test seal key of enough length',
      audit: {
        sealTimes: parseSealTimes('00:00,12:00'),
        archive: { driver: 'directory', directory: dir },
      },
    } as unknown as ControlPlaneConfig;
    trail = new AuditTrailService(db, clock, config, new DirectoryAuditArchive(dir), quietLogger);
    // This deployment's part of the archive directory (under its archive id).
    archive = await trail.archive();
  }, 60_000);

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (tenant: string | null, n: number, at = clock.now()) =>
    db.transaction((m) =>
      appendToChain(m, {
        id: randomUUID(),
        tenant_id: tenant,
        occurred_at: at,
        type: 'auth.sign_in',
        outcome: 'success',
        actor: `user:${n}`,
        reason: null,
        ip: '192.0.2.1',
        details: { n },
      }),
    );

  /** Runs `fn` with the append-only trigger off, the way someone with table rights would tamper. */
  async function tamper(sql: string, params: unknown[]): Promise<void> {
    await db.transaction(async (m) => {
      await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
      await m.query(sql, params);
      await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
    });
  }

  const kinds = (problems: AuditProblem[]) =>
    problems.map((p) => ({ kind: p.kind, where: p.where, seq: p.seq }));

  it('appends from two connections at once without forking the chain', async () => {
    const chain = randomUUID();
    await db.query(`INSERT INTO tenants (id, slug, name, region) VALUES ($1, $2, 'C', 'eu')`, [
      chain,
      `conc-${chain.slice(0, 8)}`,
    ]);
    const other = new DataSource(dataSourceOptions(database.url));
    await other.initialize();
    try {
      const row = (n: number) => ({
        id: randomUUID(),
        tenant_id: chain,
        occurred_at: clock.now(),
        type: 'auth.sign_in',
        outcome: 'success',
        // Not only ASCII: PostgreSQL hashes the UTF-8 bytes the verifier hashes.
        actor: `user:${n}-é✓`,
        reason: null,
        ip: null,
        details: {},
      });
      await Promise.all(
        Array.from({ length: 60 }, (_, n) =>
          (n % 2 === 0 ? db : other).transaction((m) => appendToChain(m, row(n))),
        ),
      );
    } finally {
      await other.destroy();
    }
    const seqs = await db.query<Array<{ chain_seq: string }>>(
      'SELECT chain_seq FROM audit_events WHERE chain = $1 ORDER BY chain_seq',
      [chain],
    );
    expect(seqs.map((r) => Number(r.chain_seq))).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    const report = await trail.verify(chain);
    expect(report.problems).toEqual([]);
    expect(report.entries).toBe(60);
  });

  it('refuses UPDATE and DELETE of audit rows', async () => {
    await append(tenantId, 0);
    await expect(db.query(`UPDATE audit_events SET actor = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
  });

  it('produces signed archives on schedule and verifies them', async () => {
    for (let n = 1; n < 5; n += 1) await append(tenantId, n);
    await append(null, 100);
    // 09:00: the last slot (00:00) has not been run yet: it seals at once.
    expect(await trail.tick()).toEqual(new Date('2026-01-10T00:00:00Z'));
    expect(await archive.list(`audit/${tenantId}/`)).toEqual([
      `audit/${tenantId}/000000000001-000000000005/manifest`,
      `audit/${tenantId}/000000000001-000000000005/segment`,
    ]);
    expect((await archive.list('audit/platform/')).length).toBe(2);
    // Same slot again: nothing due.
    expect(await trail.tick()).toBeUndefined();
    for (let n = 5; n < 8; n += 1) await append(tenantId, n);
    clock.set(new Date('2026-01-10T11:59:00Z'));
    expect(await trail.tick()).toBeUndefined();
    clock.set(new Date('2026-01-10T12:00:30Z'));
    expect(await trail.tick()).toEqual(new Date('2026-01-10T12:00:00Z'));
    expect(await archive.list(`audit/${tenantId}/000000000006`)).toHaveLength(2);
    await append(tenantId, 9);
    const report = await trail.verify(tenantId);
    expect(report.problems).toEqual([]);
    expect(report.segments).toBe(2);
    // In the shared directory, everything sits under this deployment's archive id.
    const raw = await new DirectoryAuditArchive(dir).list('');
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.every((k) => /^[0-9a-f-]{36}\/audit\//.test(k))).toBe(true);
  });

  it('detects an edited, removed, re-ordered and truncated live entry at its position', async () => {
    const chain = randomUUID();
    await db.query(`INSERT INTO tenants (id, slug, name, region) VALUES ($1, $2, 'T', 'eu')`, [
      chain,
      `tamper-${chain.slice(0, 8)}`,
    ]);
    for (let n = 1; n <= 10; n += 1) await append(chain, n);
    expect((await trail.verify(chain)).ok).toBe(true);

    await tamper(
      `UPDATE audit_events SET actor = 'user:someone-else' WHERE chain = $1 AND chain_seq = 3`,
      [chain],
    );
    expect(kinds((await trail.verify(chain)).problems)).toEqual([
      { kind: 'edited', where: 'live', seq: 3 },
    ]);

    await tamper(`DELETE FROM audit_events WHERE chain = $1 AND chain_seq = 5`, [chain]);
    expect(kinds((await trail.verify(chain)).problems)).toEqual([
      { kind: 'edited', where: 'live', seq: 3 },
      { kind: 'removed', where: 'live', seq: 5 },
    ]);

    // Swap the chain positions of 7 and 8: stored order no longer follows the chain.
    await tamper(`UPDATE audit_events SET chain_seq = -7 WHERE chain = $1 AND chain_seq = 7`, [
      chain,
    ]);
    await tamper(`UPDATE audit_events SET chain_seq = 7 WHERE chain = $1 AND chain_seq = 8`, [
      chain,
    ]);
    await tamper(`UPDATE audit_events SET chain_seq = 8 WHERE chain = $1 AND chain_seq = -7`, [
      chain,
    ]);
    const reordered = (await trail.verify(chain)).problems;
    expect(reordered).toContainEqual(expect.objectContaining({ kind: 'reordered', seq: 7 }));

    await tamper(`DELETE FROM audit_events WHERE chain = $1 AND chain_seq >= 9`, [chain]);
    const truncated = (await trail.verify(chain)).problems;
    expect(truncated).toContainEqual(
      expect.objectContaining({ kind: 'truncated', where: 'live', seq: 9 }),
    );
  });

  it('detects tampering with an archived segment at its position', async () => {
    const chain = randomUUID();
    await db.query(`INSERT INTO tenants (id, slug, name, region) VALUES ($1, $2, 'S', 'eu')`, [
      chain,
      `seg-${chain.slice(0, 8)}`,
    ]);
    for (let n = 1; n <= 6; n += 1) await append(chain, n);
    const first = (await trail.sealChain(chain))!;
    for (let n = 7; n <= 9; n += 1) await append(chain, n);
    const second = (await trail.sealChain(chain))!;
    await append(chain, 10);
    expect((await trail.verify(chain)).ok).toBe(true);

    const original = (await archive.get(`${first}/segment`))!;
    const lines = gunzipSync(original).toString('utf8').trim().split('\n');
    // Edit entry 2's body in the archive.
    const edited = lines.map((l, i) => (i === 1 ? l.replace('user:2', 'user:X') : l));
    await archive.put(`${first}/segment`, gzipSync(edited.join('\n') + '\n'));
    let problems = (await trail.verify(chain)).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'segment_hash_mismatch', segment: first }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        kind: 'edited',
        where: 'segment',
        segment: first,
        seq: 2,
        index: 1,
      }),
    );

    // Swap lines 3 and 4; remove line 5; drop the last line.
    const swapped = [lines[0], lines[1], lines[3], lines[2], lines[4], lines[5]];
    await archive.put(`${first}/segment`, gzipSync(swapped.join('\n') + '\n'));
    problems = (await trail.verify(chain)).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'reordered', where: 'segment', seq: 3, index: 3 }),
    );
    const removed = [lines[0], lines[1], lines[2], lines[3], lines[5]];
    await archive.put(`${first}/segment`, gzipSync(removed.join('\n') + '\n'));
    problems = (await trail.verify(chain)).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'removed', where: 'segment', seq: 5 }),
    );
    const truncated = lines.slice(0, 4);
    await archive.put(`${first}/segment`, gzipSync(truncated.join('\n') + '\n'));
    problems = (await trail.verify(chain)).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'truncated', where: 'segment', seq: 5 }),
    );
    await archive.put(`${first}/segment`, original);

    // A manifest whose content changed no longer verifies.
    const manifest = (await archive.get(`${second}/manifest`))!;
    const signed = JSON.parse(manifest.toString('utf8')) as { manifest: string; signature: string };
    const forged = { ...signed, manifest: signed.manifest.replace('"count":3', '"count":4') };
    await archive.put(`${second}/manifest`, Buffer.from(JSON.stringify(forged)));
    problems = (await trail.verify(chain)).problems;
    expect(kinds(problems)).toEqual([{ kind: 'bad_signature', where: 'segment', seq: 7 }]);
    await archive.put(`${second}/manifest`, manifest);

    // A whole segment deleted from the archive.
    await archive.delete(`${second}/manifest`);
    await archive.delete(`${second}/segment`);
    problems = (await trail.verify(chain)).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'missing_segment', segment: second }),
    );
  });

  it('retention removes only archived segments past it, never unarchived entries', async () => {
    const chain = randomUUID();
    await db.query(
      `INSERT INTO tenants (id, slug, name, region, retention_days) VALUES ($1, $2, 'R', 'eu', 30)`,
      [chain, `ret-${chain.slice(0, 8)}`],
    );
    const start = new Date('2026-03-01T08:00:00Z');
    for (let n = 1; n <= 3; n += 1) await append(chain, n, start);
    clock.set(new Date('2026-03-01T12:00:00Z'));
    const old = (await trail.sealChain(chain))!;
    const later = new Date('2026-03-20T08:00:00Z');
    for (let n = 4; n <= 5; n += 1) await append(chain, n, later);
    clock.set(new Date('2026-03-20T12:00:00Z'));
    const recent = (await trail.sealChain(chain))!;
    // Old but never sealed: must survive retention.
    for (let n = 6; n <= 7; n += 1) await append(chain, n, start);

    clock.set(new Date('2026-04-05T00:00:00Z')); // 35 days after the first segment
    expect(await trail.applyRetention()).toEqual([old]);
    expect(await archive.get(`${old}/segment`)).toBeUndefined();
    expect(await archive.get(`${recent}/segment`)).toBeDefined();
    const left = await db.query<Array<{ chain_seq: string }>>(
      'SELECT chain_seq FROM audit_events WHERE chain = $1 ORDER BY chain_seq',
      [chain],
    );
    expect(left.map((r) => Number(r.chain_seq))).toEqual([4, 5, 6, 7]);
    expect((await trail.verify(chain)).problems).toEqual([]);
    // Unsealed rows cannot be deleted even through the retention switch.
    await expect(
      db.transaction(async (m) => {
        await m.query(`SET LOCAL causeway.audit_retention = 'on'`);
        await m.query('DELETE FROM audit_events WHERE chain = $1 AND chain_seq = 6', [chain]);
      }),
    ).rejects.toThrow(/append-only/);
  });
});
