import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { signingKeyId } from '@causeway/crypto';
import { NodeStore } from '../state/node-store';
import { LocalDiskStore } from '../storage/local-disk-store';
import { NodeAudit } from './node-audit';
import {
  NodeAuditArchiver,
  NodeAuditSchedule,
  objectStoreArchive,
  publicKeyOf,
} from './node-audit-archive';

describe('node audit archive (SQLite + local disk)', () => {
  let dir: string;
  let store: NodeStore;
  let now: number;
  let audit: NodeAudit;
  let archiver: NodeAuditArchiver;
  const { privateKey } = generateKeyPairSync('ed25519');
  const archive = () => objectStoreArchive(new LocalDiskStore(join(dir, 'storage')));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'node-audit-'));
    store = NodeStore.open(dir);
    now = Date.parse('2026-02-01T10:00:00Z');
    audit = new NodeAudit(store, () => now);
    archiver = new NodeAuditArchiver(store, archive(), () => now);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const record = (n: number) =>
    audit.record({ code: 'access.denied', fields: { path: `/f/${n}` } });

  it('seals signed segments into the object store and verifies them with the live tail', async () => {
    for (let n = 1; n <= 5; n += 1) record(n);
    const first = await archiver.seal(privateKey);
    expect(first).toBe('audit/node/000000000001-000000000005');
    expect(await archiver.seal(privateKey)).toBeUndefined();
    for (let n = 6; n <= 8; n += 1) record(n);
    await archiver.seal(privateKey);
    record(9);
    const report = await archiver.verify();
    expect(report.problems).toEqual([]);
    expect(report.segments).toBe(2);
  });

  it('detects tampering with the live log and an archived segment at its position', async () => {
    for (let n = 1; n <= 6; n += 1) record(n);
    const name = (await archiver.seal(privateKey))!;
    for (let n = 7; n <= 10; n += 1) record(n);

    store.db
      .prepare(`UPDATE audit_log SET body = replace(body, '/f/8', '/f/80') WHERE seq = 8`)
      .run();
    store.db.prepare('DELETE FROM audit_log WHERE seq = 9').run();
    let problems = (await archiver.verify()).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'edited', where: 'live', seq: 8 }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'removed', where: 'live', seq: 9 }),
    );

    const a = archive();
    const original = (await a.get(`${name}/segment`))!;
    const lines = gunzipSync(original).toString('utf8').trim().split('\n');
    await a.put(
      `${name}/segment`,
      gzipSync([lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n') + '\n'),
    );
    problems = (await archiver.verify()).problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'reordered', where: 'segment', seq: 2, index: 2 }),
    );
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'segment_hash_mismatch' }));

    await a.put(`${name}/segment`, original);
    const other = generateKeyPairSync('ed25519').privateKey;
    problems = (await archiver.verify(new Map([[signingKeyId(privateKey), publicKeyOf(other)]])))
      .problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'bad_signature', segment: name, seq: 1 }),
    );
  });

  it('verifies a page of rows and one segment at a time, and the node can write meanwhile', async () => {
    for (let n = 1; n <= 30; n += 1) {
      record(n);
      if (n % 10 === 0) await archiver.seal(privateKey);
    }
    for (let n = 31; n <= 37; n += 1) record(n);
    const gets: string[] = [];
    const inner = archive();
    const watched = new NodeAuditArchiver(
      store,
      { ...inner, get: (key) => (gets.push(key), inner.get(key)) },
      () => now,
    );
    const seen: string[] = [];
    const report = await watched.verify(undefined, {
      pageSize: 8,
      onProgress: (p) => {
        seen.push(p.done.where === 'segment' ? `checked ${p.done.segment}` : `page ${p.done.page}`);
        gets.push(seen[seen.length - 1]);
        // An audit write while the verifier is between pages (an open cursor would refuse it).
        if (p.done.where === 'live' && p.done.page === 2) record(38);
      },
    });
    expect(report.problems).toEqual([]);
    expect(report.entries).toBe(30 + 38);
    const segments = gets.filter((g) => g.endsWith('/segment') || g.startsWith('checked'));
    expect(segments).toEqual(
      ['000000000001-000000000010', '000000000011-000000000020', '000000000021-000000000030']
        .map((r) => `audit/node/${r}`)
        .flatMap((name) => [`${name}/segment`, `checked ${name}`]),
    );
    // 38 rows (the one written during verification included) in pages of 8.
    expect(seen.filter((s) => s.startsWith('page'))).toEqual(
      [1, 2, 3, 4, 5].map((n) => `page ${n}`),
    );
  });

  it('retention removes only archived segments past it', async () => {
    for (let n = 1; n <= 3; n += 1) record(n);
    const old = (await archiver.seal(privateKey))!;
    now += 20 * 86_400_000;
    for (let n = 4; n <= 5; n += 1) record(n);
    await archiver.seal(privateKey);
    now -= 30 * 86_400_000; // an old entry never sealed
    record(6);
    now += 10 * 86_400_000 + 40 * 86_400_000;
    expect(await archiver.applyRetention(30)).toEqual([old]);
    expect(audit.list().map((e) => e.seq)).toEqual([4, 5, 6]);
    expect((await archiver.verify()).problems).toEqual([]);
  });

  it('produces archives on schedule (injected clock)', async () => {
    const schedule = new NodeAuditSchedule(store, archiver, {
      sealTimes: [0, 12 * 60],
      retentionDays: 365,
      signingKey: () => privateKey,
      now: () => now,
    });
    record(1);
    // 10:00: the 00:00 slot has not run yet.
    expect(await schedule.tick()).toEqual(new Date('2026-02-01T00:00:00Z'));
    expect(await schedule.tick()).toBeUndefined();
    record(2);
    now = Date.parse('2026-02-01T11:59:00Z');
    expect(await schedule.tick()).toBeUndefined();
    now = Date.parse('2026-02-01T12:00:00Z');
    expect(await schedule.tick()).toEqual(new Date('2026-02-01T12:00:00Z'));
    expect(await archive().list('audit/node/')).toEqual([
      'audit/node/000000000001-000000000001/manifest',
      'audit/node/000000000001-000000000001/segment',
      'audit/node/000000000002-000000000002/manifest',
      'audit/node/000000000002-000000000002/segment',
    ]);
    expect((await archiver.verify()).ok).toBe(true);
  });

  it('`causeway-node audit verify` reports a tampered entry with its position and exits 1', async () => {
    for (let n = 1; n <= 4; n += 1) record(n);
    const cli = (): { status: number | null; stdout: string } =>
      spawnSync(
        process.execPath,
        [
          join(__dirname, '../../dist/cli/main.js'),
          'audit',
          'verify',
          '--json',
          '--state-dir',
          dir,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH } },
      );
    expect(cli().status).toBe(0);
    store.db
      .prepare(`UPDATE audit_log SET body = replace(body, '/f/2', '/f/20') WHERE seq = 2`)
      .run();
    const out = cli();
    expect(out.status).toBe(1);
    const report = JSON.parse(out.stdout) as { ok: boolean; problems: unknown[] };
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'edited', where: 'live', seq: 2, index: 1 }),
    ]);
  });
});
