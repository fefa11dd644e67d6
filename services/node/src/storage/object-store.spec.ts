import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startS3Server, type S3Server } from '@causeway/testing';
import { LocalDiskStore } from './local-disk-store';
import { isObjectStoreError, type ObjectStore, type ObjectStoreErrorCode } from './object-store';
import { MAX_SEGMENT_SIZE, S3Store } from './s3-store';

const MiB = 1024 * 1024;
const BIG = 70 * MiB;

/** One driver under test, plus a way to read what it really stored, bypassing the driver. */
interface Harness {
  store: ObjectStore;
  /** The stored bytes of `key` read straight from disk or from s3rver's directory. */
  stored(key: string): Promise<Buffer | undefined>;
  /** Every file the driver left in its storage (for "nothing left behind" checks). */
  files(): Promise<string[]>;
  close(): Promise<void>;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch(() => undefined);
}

async function localHarness(): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'causeway-objects-'));
  const store = new LocalDiskStore(join(root, 'objects'));
  return {
    store,
    stored: (key) => readIfExists(store.pathOf(key)),
    files: () => walk(join(root, 'objects')),
    close: () => rm(root, { recursive: true, force: true }),
  };
}

async function s3Harness(): Promise<Harness> {
  const server: S3Server = await startS3Server();
  const store = new S3Store({
    endPoint: server.endpoint,
    port: server.port,
    useSSL: false,
    region: server.region,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    bucket: server.bucket,
  });
  await store.init();
  return {
    store,
    async stored(key) {
      const head = await readIfExists(server.objectPath(key));
      if (!head) return undefined;
      const metadata = await readIfExists(
        server.objectPath(key).replace(/object$/, 'metadata.json'),
      );
      if (!metadata?.toString().includes('segmented-v1')) return head;
      const manifest = JSON.parse(head.toString()) as { segmentCount: number; generation: string };
      const parts: Buffer[] = [];
      for (let i = 0; i < manifest.segmentCount; i += 1) {
        const name = `${key}.part-${manifest.generation}-${String(i).padStart(6, '0')}`;
        const part = await readIfExists(server.objectPath(name));
        if (!part) throw new Error(`segment ${name} missing`);
        parts.push(part);
      }
      return Buffer.concat(parts);
    },
    files: async () =>
      (await walk(join(server.directory, server.bucket))).filter((f) => f.endsWith('_object')),
    close: () => server.stop(),
  };
}

/** `data` as a stream of chunks of at most `chunk` bytes, like an upload arriving. */
function streamOf(data: Buffer, chunk = MiB): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += chunk) {
        yield data.subarray(offset, offset + chunk);
      }
    })(),
  );
}

/** Yields `before` bytes, then fails, like a client that disconnects half way. */
function failingStream(before: number): Readable {
  return Readable.from(
    (async function* () {
      const chunk = Buffer.alloc(MiB, 7);
      let sent = 0;
      while (sent < before) {
        const part = chunk.subarray(0, Math.min(MiB, before - sent));
        sent += part.length;
        yield part;
        await Promise.resolve();
      }
      throw new Error('client went away');
    })(),
  );
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function expectCode(promise: Promise<unknown>, code: ObjectStoreErrorCode): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isObjectStoreError(error) ? error.code : error).toBe(code);
}

const drivers: [string, () => Promise<Harness>][] = [
  ['LocalDiskStore', localHarness],
  ['S3Store (s3rver)', s3Harness],
];

describe.each(drivers)('ObjectStore contract: %s', (_name, makeHarness) => {
  let h: Harness;
  let store: ObjectStore;
  // Generated once: a big object that spans two 64 MiB segments on S3.
  const big = randomBytes(BIG);

  beforeAll(async () => {
    h = await makeHarness();
    store = h.store;
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['0 B', 0],
    ['1 B', 1],
    ['5 MiB', 5 * MiB],
  ])('round-trips %s exactly, and stores exactly those bytes', async (_label, size) => {
    const data = randomBytes(size);
    const key = `ws-round/size-${size}`;
    await expect(store.put(key, streamOf(data), size)).resolves.toEqual({ size });
    expect(sha256(await readStream(await store.get(key)))).toBe(sha256(data));
    await expect(store.stat(key)).resolves.toEqual({ size });
    expect((await h.stored(key))?.equals(data)).toBe(true);
  });

  it('round-trips an object over 64 MiB (segments on S3) checked by SHA-256', async () => {
    expect(BIG).toBeGreaterThan(MAX_SEGMENT_SIZE);
    const key = 'ws-big/object-1';
    await store.put(key, streamOf(big, 3 * MiB + 17), BIG);
    expect(sha256(await readStream(await store.get(key)))).toBe(sha256(big));
    await expect(store.stat(key)).resolves.toEqual({ size: BIG });
    expect(sha256((await h.stored(key)) ?? Buffer.alloc(0))).toBe(sha256(big));
  });

  it.each([
    ['0 B', 0],
    ['5 MiB', 5 * MiB],
    ['exactly one S3 segment', MAX_SEGMENT_SIZE],
    ['over 64 MiB (segments on S3)', BIG],
  ])('stores a source of unannounced size (%s) whole', async (_label, size) => {
    const data = size === BIG ? big : randomBytes(size);
    const key = `ws-unsized/size-${size}`;
    await expect(store.put(key, streamOf(data, 3 * MiB + 17))).resolves.toEqual({ size });
    expect(sha256(await readStream(await store.get(key)))).toBe(sha256(data));
    await expect(store.stat(key)).resolves.toEqual({ size });
    await store.delete(key);
  });

  it('leaves nothing behind when a source of unannounced size fails', async () => {
    await expect(store.put('ws-unsized/failing', failingStream(MiB))).rejects.toThrow();
    await expectCode(store.stat('ws-unsized/failing'), 'NOT_FOUND');
    expect((await h.files()).filter((f) => f.includes('ws-unsized/failing'))).toEqual([]);
  });

  it('serves byte ranges: first byte, inside, across the segment boundary, last byte', async () => {
    const key = 'ws-big/object-1';
    const ranges = [
      { start: 0, end: 0 },
      { start: 1000, end: 5 * MiB },
      { start: MAX_SEGMENT_SIZE - 100, end: MAX_SEGMENT_SIZE + 99 },
      { start: MAX_SEGMENT_SIZE - 1, end: MAX_SEGMENT_SIZE },
      { start: MAX_SEGMENT_SIZE, end: BIG - 1 },
      { start: BIG - 1, end: BIG - 1 },
    ];
    for (const range of ranges) {
      const got = await readStream(await store.get(key, range));
      expect(got.equals(big.subarray(range.start, range.end + 1))).toBe(true);
    }
  });

  it('serves ranges of a small object and refuses ranges outside it', async () => {
    const data = randomBytes(1000);
    await store.put('ws-range/small', streamOf(data, 100), data.length);
    const first = await readStream(await store.get('ws-range/small', { start: 0, end: 0 }));
    expect(first.equals(data.subarray(0, 1))).toBe(true);
    const inside = await readStream(await store.get('ws-range/small', { start: 10, end: 499 }));
    expect(inside.equals(data.subarray(10, 500))).toBe(true);
    const last = await readStream(await store.get('ws-range/small', { start: 999, end: 999 }));
    expect(last.equals(data.subarray(999))).toBe(true);
    await expectCode(store.get('ws-range/small', { start: 0, end: 1000 }), 'INVALID_RANGE');
    await expectCode(store.get('ws-range/small', { start: 5, end: 4 }), 'INVALID_RANGE');
    await expectCode(store.get('ws-range/small', { start: -1, end: 4 }), 'INVALID_RANGE');
    await store.put('ws-range/empty', streamOf(Buffer.alloc(0)), 0);
    await expectCode(store.get('ws-range/empty', { start: 0, end: 0 }), 'INVALID_RANGE');
  });

  it('answers NOT_FOUND for stat and get of a missing object', async () => {
    await expectCode(store.stat('ws-missing/nothing'), 'NOT_FOUND');
    await expectCode(store.get('ws-missing/nothing'), 'NOT_FOUND');
    await expectCode(store.get('ws-missing/nothing', { start: 0, end: 0 }), 'NOT_FOUND');
  });

  it('overwrites: small over small, big over small, small over big', async () => {
    const key = 'ws-over/object';
    const a = randomBytes(3000);
    const b = randomBytes(7 * MiB);
    await store.put(key, streamOf(a), a.length);
    await store.put(key, streamOf(b), b.length);
    expect((await readStream(await store.get(key))).equals(b)).toBe(true);
    await expect(store.stat(key)).resolves.toEqual({ size: b.length });

    await store.put(key, streamOf(big), BIG);
    expect(sha256(await readStream(await store.get(key)))).toBe(sha256(big));
    await store.put(key, streamOf(a), a.length);
    expect((await readStream(await store.get(key))).equals(a)).toBe(true);
    expect((await h.stored(key))?.equals(a)).toBe(true);
    // The big object's segments went away with it.
    expect((await h.files()).filter((f) => f.includes('ws-over')).length).toBe(1);
  });

  it('deletes idempotently', async () => {
    const data = randomBytes(10);
    await store.put('ws-del/one', streamOf(data), data.length);
    await store.delete('ws-del/one');
    await expectCode(store.stat('ws-del/one'), 'NOT_FOUND');
    await expect(store.delete('ws-del/one')).resolves.toBeUndefined();
    await expect(store.delete('ws-del/never-existed')).resolves.toBeUndefined();
    expect(await h.stored('ws-del/one')).toBeUndefined();
  });

  it('lists by prefix and deletes a prefix, leaving other prefixes alone', async () => {
    const one = Buffer.from('x');
    for (const key of ['ws-a/1', 'ws-a/2', 'ws-a/sub/3', 'ws-ab/4', 'ws-b/5']) {
      await store.put(key, streamOf(one), 1);
    }
    await expect(store.list('ws-a/')).resolves.toEqual(['ws-a/1', 'ws-a/2', 'ws-a/sub/3']);
    await expect(store.list('ws-a')).resolves.toEqual([
      'ws-a/1',
      'ws-a/2',
      'ws-a/sub/3',
      'ws-ab/4',
    ]);
    await expect(store.list('ws-nothing/')).resolves.toEqual([]);
    await expect(store.deletePrefix('ws-a/')).resolves.toBe(3);
    await expect(store.list('ws-a/')).resolves.toEqual([]);
    await expect(store.list('ws-ab/')).resolves.toEqual(['ws-ab/4']);
    await expect(store.list('ws-b/')).resolves.toEqual(['ws-b/5']);
    await expect(store.deletePrefix('ws-a/')).resolves.toBe(0);
    await expectCode(store.deletePrefix(''), 'INVALID_KEY');
  });

  it('lists a segmented object once, and deletePrefix removes its segments', async () => {
    await store.put('ws-seg/big', streamOf(big), BIG);
    await expect(store.list('ws-seg/')).resolves.toEqual(['ws-seg/big']);
    await expect(store.deletePrefix('ws-seg/')).resolves.toBe(1);
    expect((await h.files()).filter((f) => f.includes('ws-seg'))).toEqual([]);
  });

  it.each([
    ['../x', '../x'],
    ['/abs', '/abs'],
    ['10,000 characters', 'a'.repeat(10_000)],
    ['a NUL byte', 'a\u0000b'],
    ['a dot', 'ws/a.b'],
    ['empty', ''],
    ['a trailing slash', 'ws/'],
    ['an empty segment', 'ws//x'],
    ['a backslash', 'ws\\x'],
  ])('refuses an invalid key: %s', async (_label, key) => {
    await expectCode(store.put(key, streamOf(Buffer.from('x')), 1), 'INVALID_KEY');
    await expectCode(store.get(key), 'INVALID_KEY');
    await expectCode(store.stat(key), 'INVALID_KEY');
    await expectCode(store.delete(key), 'INVALID_KEY');
  });

  it('refuses invalid prefixes', async () => {
    await expectCode(store.list('../'), 'INVALID_KEY');
    await expectCode(store.deletePrefix('/'), 'INVALID_KEY');
  });

  it.each([
    ['small', 2 * MiB, MiB],
    ['over 64 MiB', BIG, MAX_SEGMENT_SIZE + MiB],
  ])('leaves no object when the source fails half way (%s)', async (_label, size, before) => {
    const key = `ws-fail/object-${size}`;
    await expect(store.put(key, failingStream(before), size)).rejects.toThrow('client went away');
    await expectCode(store.get(key), 'NOT_FOUND');
    await expectCode(store.stat(key), 'NOT_FOUND');
    expect((await h.files()).filter((f) => f.includes('ws-fail'))).toEqual([]);
  });

  it('keeps the previous object when an overwrite fails', async () => {
    const key = 'ws-keep/object';
    const data = randomBytes(4096);
    await store.put(key, streamOf(data), data.length);
    await expect(store.put(key, failingStream(MiB), 2 * MiB)).rejects.toThrow();
    expect((await readStream(await store.get(key))).equals(data)).toBe(true);
  });

  it('refuses a source that is shorter or longer than the announced size', async () => {
    await expectCode(store.put('ws-size/short', streamOf(Buffer.alloc(10)), 11), 'SIZE_MISMATCH');
    await expectCode(store.put('ws-size/long', streamOf(Buffer.alloc(12)), 11), 'SIZE_MISMATCH');
    await expectCode(store.put('ws-size/neg', streamOf(Buffer.alloc(0)), -1), 'INVALID_SIZE');
    await expectCode(store.stat('ws-size/short'), 'NOT_FOUND');
    await expectCode(store.stat('ws-size/long'), 'NOT_FOUND');
  });
});

describe('LocalDiskStore on disk', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'causeway-objects-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates directories with mode 700 and files with mode 600, no temporary files left', async () => {
    const store = new LocalDiskStore(join(root, 'objects'));
    await store.put('ws-1/file', streamOf(Buffer.from('hello')), 5);
    expect((await stat(join(root, 'objects'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'objects', 'ws-1'))).mode & 0o777).toBe(0o700);
    expect((await stat(store.pathOf('ws-1/file'))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(root, 'objects', 'ws-1'))).toEqual(['file.obj']);
  });

  it('keeps a key and a longer key below it apart (a and a/b)', async () => {
    const store = new LocalDiskStore(join(root, 'nested'));
    await store.put('a', streamOf(Buffer.from('1')), 1);
    await store.put('a/b', streamOf(Buffer.from('2')), 1);
    expect((await readStream(await store.get('a'))).toString()).toBe('1');
    expect((await readStream(await store.get('a/b'))).toString()).toBe('2');
    await expect(store.list('')).resolves.toEqual(['a', 'a/b']);
  });
});
