import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { globalAgent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import type { AuditArchive } from '@causeway/audit';
import { startS3Server, type S3Server } from '@causeway/testing';
import { DirectoryAuditArchive } from './audit-archive-store';
import { S3AuditArchive, type S3AuditArchiveOptions } from './s3-audit-archive';

/** Every byte value, so no driver may treat a segment as text. */
const BINARY = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

interface Driver {
  archive: AuditArchive;
  close(): Promise<void>;
}

let s3: S3Server;

function s3Options(prefix: string, overrides: Partial<S3AuditArchiveOptions> = {}) {
  return {
    endPoint: s3.endpoint,
    port: s3.port,
    useSSL: false,
    region: s3.region,
    bucket: s3.bucket,
    prefix,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    pathStyle: true,
    ...overrides,
  };
}

const drivers: Array<[string, () => Promise<Driver>]> = [
  [
    'directory',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cp-audit-archive-'));
      return {
        archive: new DirectoryAuditArchive(dir),
        close: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    's3',
    async () => {
      // Each test in a prefix of its own: the bucket outlives the tests.
      const archive = new S3AuditArchive(s3Options(`t${Math.random().toString(36).slice(2)}`));
      await archive.init();
      return { archive, close: async () => undefined };
    },
  ],
];

beforeAll(async () => {
  s3 = await startS3Server({ bucket: 'causeway-audit' });
});

afterAll(async () => {
  await s3?.stop();
  // The minio client keeps idle connections in the global agent, which keep the worker alive.
  globalAgent.destroy();
});

/** The contract of `AuditArchive` (libs/audit/src/archive.ts), the same for every driver. */
describe.each(drivers)('AuditArchive contract: %s', (_name, open) => {
  let driver: Driver;
  let archive: AuditArchive;

  beforeEach(async () => {
    driver = await open();
    archive = driver.archive;
  });

  afterEach(async () => {
    await driver.close();
  });

  it('answers undefined for a key never written', async () => {
    expect(await archive.get('audit/t1/000000000001-000000000002/segment')).toBeUndefined();
  });

  it('gives back exactly the bytes put, including none, and a put replaces', async () => {
    await archive.put('audit/t1/a/segment', BINARY);
    await archive.put('audit/t1/a/manifest', Buffer.alloc(0));
    expect((await archive.get('audit/t1/a/segment'))?.equals(BINARY)).toBe(true);
    expect((await archive.get('audit/t1/a/manifest'))?.length).toBe(0);

    await archive.put('audit/t1/a/segment', Buffer.from('second'));
    expect((await archive.get('audit/t1/a/segment'))?.toString()).toBe('second');
  });

  it('lists the full keys starting with a prefix, sorted, and nothing else', async () => {
    const keys = [
      'audit/t1/000000000010-000000000012/segment',
      'audit/t1/000000000001-000000000009/manifest',
      'audit/t1/000000000001-000000000009/segment',
      'audit/t10/000000000001-000000000001/segment',
      'audit/t2/000000000001-000000000001/segment',
      'other/t1/x',
    ];
    for (const key of keys) await archive.put(key, Buffer.from(key));

    expect(await archive.list('audit/t1/')).toEqual([
      'audit/t1/000000000001-000000000009/manifest',
      'audit/t1/000000000001-000000000009/segment',
      'audit/t1/000000000010-000000000012/segment',
    ]);
    // A prefix is a string prefix, not a directory: `audit/t1` also takes `audit/t10`.
    expect(await archive.list('audit/t1')).toEqual([
      'audit/t1/000000000001-000000000009/manifest',
      'audit/t1/000000000001-000000000009/segment',
      'audit/t1/000000000010-000000000012/segment',
      'audit/t10/000000000001-000000000001/segment',
    ]);
    expect(await archive.list('')).toEqual([...keys].sort());
    expect(await archive.list('audit/nobody/')).toEqual([]);
  });

  it('lists more keys than one S3 page holds (1000)', async () => {
    const keys = Array.from(
      { length: 1010 },
      (_, i) => `audit/big/${String(i).padStart(12, '0')}-x/segment`,
    );
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => archive.put(key, Buffer.from('x'))));
    }
    expect(await archive.list('audit/big/')).toEqual(keys);
  });

  it('deletes idempotently', async () => {
    await archive.put('audit/t1/d/segment', Buffer.from('gone soon'));
    await archive.put('audit/t1/d/manifest', Buffer.from('stays'));
    await archive.delete('audit/t1/d/segment');
    await archive.delete('audit/t1/d/segment');
    await archive.delete('audit/t1/never/segment');
    expect(await archive.get('audit/t1/d/segment')).toBeUndefined();
    expect(await archive.list('audit/t1/')).toEqual(['audit/t1/d/manifest']);
  });

  it.each(['../escape', 'audit/../x', 'audit//x', '/audit/x', 'audit/x/', 'audit/x.tmp', ''])(
    'refuses the key %p on put, get and delete',
    async (key) => {
      await expect(archive.put(key, Buffer.from('x'))).rejects.toThrow(/invalid audit archive key/);
      await expect(archive.get(key)).rejects.toThrow(/invalid audit archive key/);
      await expect(archive.delete(key)).rejects.toThrow(/invalid audit archive key/);
    },
  );
});

describe('S3AuditArchive (s3rver)', () => {
  it('keeps its keys under the configured prefix, invisible to another prefix', async () => {
    const a = new S3AuditArchive(s3Options('causeway/prod'));
    const b = new S3AuditArchive(s3Options('causeway/staging'));
    const none = new S3AuditArchive(s3Options(''));
    await a.put('audit/t1/s/segment', Buffer.from('prod'));

    expect(existsSync(s3.objectPath('causeway/prod/audit/t1/s/segment'))).toBe(true);
    expect(await b.list('')).toEqual([]);
    expect(await b.get('audit/t1/s/segment')).toBeUndefined();
    expect(await none.list('causeway/prod/')).toEqual(['causeway/prod/audit/t1/s/segment']);
    await b.delete('audit/t1/s/segment');
    expect((await a.get('audit/t1/s/segment'))?.toString()).toBe('prod');
  });

  it('does not list objects under its prefix that are not archive keys', async () => {
    const archive = new S3AuditArchive(s3Options('foreign'));
    await archive.put('audit/t1/f/segment', Buffer.from('ours'));
    // Put by someone else, the way an operator's tool might.
    const client = new Client({
      endPoint: s3.endpoint,
      port: s3.port,
      useSSL: false,
      region: s3.region,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      pathStyle: true,
    });
    await client.putObject(s3.bucket, 'foreign/audit/t1/f/notes.txt', Buffer.from('x'));
    expect(await archive.list('audit/')).toEqual(['audit/t1/f/segment']);
  });

  it('stores a segment larger than the client part size (64 MiB) in one PUT', async () => {
    // s3rver has no multipart upload: this fails if the archive ever uploads in parts.
    const archive = new S3AuditArchive(s3Options('large'));
    const data = Buffer.alloc(65 * 1024 * 1024, 7);
    data.write('first', 0);
    data.write('last', data.length - 4);
    await archive.put('audit/t1/large/segment', data);
    expect((await archive.get('audit/t1/large/segment'))?.equals(data)).toBe(true);
  });

  it('refuses a missing bucket at init, naming the variable', async () => {
    const archive = new S3AuditArchive(s3Options('', { bucket: 'no-such-bucket' }));
    await expect(archive.init()).rejects.toThrow(/CAUSEWAY_AUDIT_S3_BUCKET/);
  });

  it('fails with credentials the server refuses, without echoing the secret', async () => {
    const secret = 'the-secret-access-key-0123456789';
    // s3rver does not check SigV4 signatures, so an unknown access key stands in for both.
    const archive = new S3AuditArchive(
      s3Options('', { accessKey: 'NOT-A-KEY', secretKey: secret }),
    );
    const error = await archive.put('audit/t1/w/segment', Buffer.from('x')).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe('InvalidAccessKeyId');
    expect(`${error?.message} ${JSON.stringify(error)} ${error?.stack ?? ''}`).not.toContain(
      secret,
    );
    await expect(archive.list('')).rejects.toThrow();
  });
});
