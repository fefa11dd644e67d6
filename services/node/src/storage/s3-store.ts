import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { Client, type BucketItem, type BucketItemStat } from 'minio';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  assertValidSize,
  notFound,
  ObjectStoreError,
  sizeMismatch,
  type ByteRange,
  type ObjectStat,
  type ObjectStore,
} from './object-store';

/**
 * Largest object stored as one S3 object. Above 64 MiB (its default part size) the minio client
 * switches to a multipart upload, which some S3-compatible servers do not implement, so larger
 * objects are stored as segments of at most this size.
 */
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;

/** Metadata that marks a manifest (`x-amz-meta-causeway-layout`). */
const LAYOUT_META = 'causeway-layout';
const SEGMENTED_LAYOUT = 'segmented-v1';

export interface S3StoreOptions {
  /** Host name or IP address, without scheme or port. */
  endPoint: string;
  port: number;
  useSSL: boolean;
  region: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Create the bucket at `init()` when it is missing (needs s3:CreateBucket). */
  createBucket?: boolean;
  /** Path-style URLs (`host/bucket/key`); false for virtual-hosted style. Default true. */
  pathStyle?: boolean;
  /** Segment size for large objects; at most (and by default) 64 MiB. */
  segmentSize?: number;
}

/** What `<key>` holds when the object is segmented; written after every segment is stored. */
interface Manifest {
  layout: typeof SEGMENTED_LAYOUT;
  size: number;
  segmentSize: number;
  segmentCount: number;
  /** Random per put: segments are `<key>.part-<generation>-<index>`. */
  generation: string;
}

function s3Code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null
    ? (error as { code?: string }).code
    : undefined;
}

function isMissing(error: unknown): boolean {
  const code = s3Code(error);
  return code === 'NoSuchKey' || code === 'NotFound';
}

/** The ETag the server sent with a GET, without quotes; undefined when not visible. */
function etagOf(stream: Readable): string | undefined {
  const header = (stream as Partial<IncomingMessage>).headers?.etag;
  return typeof header === 'string' ? header.replace(/"/g, '') : undefined;
}

/** Skips `skip` bytes of `source`, yields the next `length`, then stops reading it. */
async function* exactly(
  source: Readable,
  skip: number,
  length: number,
  name: string,
): AsyncGenerator<Buffer> {
  let toSkip = skip;
  let left = length;
  try {
    for await (const chunk of source) {
      let buffer = chunk as Buffer;
      if (toSkip > 0) {
        const dropped = Math.min(toSkip, buffer.length);
        toSkip -= dropped;
        buffer = buffer.subarray(dropped);
      }
      if (buffer.length === 0) continue;
      const take = Math.min(left, buffer.length);
      left -= take;
      yield buffer.subarray(0, take);
      if (left === 0) return;
    }
  } finally {
    source.destroy();
  }
  if (left > 0) throw new ObjectStoreError('CORRUPT', `object "${name}" ended early`);
}

/** Reads a source stream in pieces of bounded size, keeping what a piece did not take. */
class ByteReader {
  private readonly iterator: AsyncIterator<unknown>;
  private leftover: Buffer | undefined;
  private consumed = 0;

  constructor(
    source: Readable,
    private readonly key: string,
    private readonly size: number | undefined,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `length` more bytes; SIZE_MISMATCH when the source ends sooner. */
  async read(length: number): Promise<Buffer> {
    const body = await this.readUpTo(length);
    if (body.length < length) {
      throw sizeMismatch(this.key, this.size ?? length, this.consumed);
    }
    return body;
  }

  /** `length` more bytes, or fewer when the source ends first. */
  async readUpTo(length: number): Promise<Buffer> {
    const body = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      let chunk = this.leftover;
      this.leftover = undefined;
      if (!chunk) {
        const next = await this.iterator.next();
        if (next.done) {
          this.consumed += filled;
          return body.subarray(0, filled);
        }
        chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
      }
      const take = Math.min(chunk.length, length - filled);
      chunk.copy(body, filled, 0, take);
      if (take < chunk.length) this.leftover = chunk.subarray(take);
      filled += take;
    }
    this.consumed += length;
    return body;
  }

  /** Whether the source has nothing more to give (what it gives next is kept for `read`). */
  async atEnd(): Promise<boolean> {
    while (!this.leftover?.length) {
      const next = await this.iterator.next();
      if (next.done) return true;
      this.leftover = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    }
    return false;
  }

  /** Succeeds only when the source has nothing more to give. */
  async expectEnd(): Promise<void> {
    let extra = this.leftover?.length ?? 0;
    while (extra === 0) {
      const next = await this.iterator.next();
      if (next.done) return;
      extra = Buffer.isBuffer(next.value) ? next.value.length : String(next.value).length;
    }
    const size = this.size ?? this.consumed;
    throw sizeMismatch(this.key, size, size + extra);
  }
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    if (length > limit) {
      stream.destroy();
      throw new ObjectStoreError('CORRUPT', 'manifest is larger than expected');
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Objects in an S3-compatible bucket through the `minio` client.
 *
 * An object of at most the segment size (64 MiB) is one S3 object, uploaded with one PUT of
 * known length, which S3 makes visible atomically. A larger object is stored as segments
 * `<key>.part-<generation>-000000`, `-000001`, ... and then a small JSON manifest under `<key>`
 * itself. The manifest is written last, so a reader finds either the previous object or the
 * complete new one; a crash leaves only unreferenced segments, which the next put or delete of
 * that key removes. Keys never contain `.`, so segment names cannot collide with keys.
 *
 * Each segment is buffered in memory before it is sent (as the minio client itself does), so a
 * put of a large object holds up to one segment size of memory.
 */
export class S3Store implements ObjectStore {
  readonly driver = 's3' as const;
  readonly bucket: string;
  private readonly client: Client;
  private readonly segmentSize: number;
  private readonly region: string;
  private readonly createBucket: boolean;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.region = options.region;
    this.createBucket = options.createBucket ?? false;
    this.segmentSize = options.segmentSize ?? MAX_SEGMENT_SIZE;
    if (
      !Number.isSafeInteger(this.segmentSize) ||
      this.segmentSize < 1 ||
      this.segmentSize > MAX_SEGMENT_SIZE
    ) {
      throw new RangeError(`segmentSize must be between 1 and ${MAX_SEGMENT_SIZE}`);
    }
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      region: options.region,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      pathStyle: options.pathStyle ?? true,
      partSize: MAX_SEGMENT_SIZE,
    });
  }

  /** Checks that the bucket is reachable, creating it when configured to. Call once at boot. */
  async init(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    if (!this.createBucket) {
      throw new Error(
        `S3 bucket "${this.bucket}" does not exist; create it or set CAUSEWAY_S3_CREATE_BUCKET=true`,
      );
    }
    await this.client.makeBucket(this.bucket, this.region);
  }

  async put(key: string, source: Readable, size?: number): Promise<ObjectStat> {
    assertValidKey(key);
    if (size !== undefined) assertValidSize(size);
    const reader = new ByteReader(source, key, size);
    // Without a size, the first segment's worth says which layout the object gets.
    let first: Buffer | undefined;
    if (size === undefined) {
      try {
        first = await reader.readUpTo(this.segmentSize);
        if (await reader.atEnd()) size = first.length;
      } catch (error) {
        source.destroy();
        throw error;
      }
    }
    if (size !== undefined && size <= this.segmentSize) {
      try {
        const body = first ?? (await reader.read(size));
        await reader.expectEnd();
        await this.client.putObject(this.bucket, key, body, body.length, {
          'Content-Type': 'application/octet-stream',
        });
      } catch (error) {
        source.destroy();
        throw error;
      }
      await this.removeSegments(key);
      return { size };
    }

    const generation = randomBytes(8).toString('hex');
    const known = size;
    let stored = 0;
    let segmentCount = 0;
    try {
      for (;;) {
        let body: Buffer;
        if (first) {
          body = first;
          first = undefined;
        } else if (known === undefined) {
          body = await reader.readUpTo(this.segmentSize);
        } else {
          body = await reader.read(Math.min(this.segmentSize, known - stored));
        }
        const last =
          known === undefined
            ? body.length < this.segmentSize || (await reader.atEnd())
            : stored + body.length === known;
        if (last && known !== undefined) await reader.expectEnd();
        const name = this.segmentName(key, generation, segmentCount);
        await this.client.putObject(this.bucket, name, body, body.length, {
          'Content-Type': 'application/octet-stream',
        });
        stored += body.length;
        segmentCount += 1;
        if (last) break;
      }
      const manifest: Manifest = {
        layout: SEGMENTED_LAYOUT,
        size: stored,
        segmentSize: this.segmentSize,
        segmentCount,
        generation,
      };
      const body = Buffer.from(JSON.stringify(manifest));
      await this.client.putObject(this.bucket, key, body, body.length, {
        'Content-Type': 'application/json',
        [LAYOUT_META]: SEGMENTED_LAYOUT,
      });
    } catch (error) {
      source.destroy();
      await this.removeSegments(key, generation, true).catch(() => undefined);
      throw error;
    }
    await this.removeSegments(key, generation);
    return { size: stored };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    // An overwrite between stat and get is detected by the ETag and retried.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const found = await this.statRaw(key);
      const manifest = found.segmented ? await this.readManifest(key, found.stat.etag) : undefined;
      if (found.segmented && !manifest) continue;
      const size = manifest ? manifest.size : found.stat.size;
      if (range) assertValidRange(range, size);
      if (manifest) return this.readSegments(key, manifest, range);
      const stream = await this.getRaw(key, range);
      const etag = etagOf(stream);
      if (etag === undefined || etag === found.stat.etag) return stream;
      stream.destroy();
    }
    throw new ObjectStoreError('CORRUPT', `object "${key}" kept changing while being read`);
  }

  async stat(key: string): Promise<ObjectStat> {
    assertValidKey(key);
    const found = await this.statRaw(key);
    if (!found.segmented) return { size: found.stat.size };
    const manifest = await this.readManifest(key, found.stat.etag);
    if (manifest) return { size: manifest.size };
    return this.stat(key);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.removeObject(this.bucket, key).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
    await this.removeSegments(key);
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const names = await this.listNames(prefix);
    // Keys never hold '.'; names that do are segments.
    return names.filter((name) => !name.includes('.')).sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') {
      throw new ObjectStoreError('INVALID_KEY', 'refusing to delete with an empty prefix');
    }
    const names = await this.listNames(prefix);
    const keys = names.filter((name) => !name.includes('.'));
    // Manifests and whole objects first, so nothing visible points at a removed segment.
    await this.removeNames(keys);
    await this.removeNames(names.filter((name) => name.includes('.')));
    return keys.length;
  }

  private segmentName(key: string, generation: string, index: number): string {
    return `${key}.part-${generation}-${String(index).padStart(6, '0')}`;
  }

  /**
   * Removes segments of `key`: all of them, or all but `generation`'s (after a successful
   * put), or only `generation`'s (after a failed one).
   */
  private async removeSegments(key: string, generation?: string, only = false): Promise<void> {
    const names = await this.listNames(`${key}.part-`);
    const own = generation ? `${key}.part-${generation}-` : undefined;
    await this.removeNames(
      names.filter((name) => (own === undefined ? true : name.startsWith(own) === only)),
    );
  }

  private async removeNames(names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      if (batch.length === 0) continue;
      const results = await this.client.removeObjects(this.bucket, batch);
      const failed = results.find((result) => result?.Error && result.Error.Code !== 'NoSuchKey');
      if (failed?.Error) {
        throw new Error(
          `S3 refused to remove ${failed.Error.Key ?? 'an object'}: ${failed.Error.Code ?? 'unknown error'}`,
        );
      }
    }
  }

  private async listNames(prefix: string): Promise<string[]> {
    const names: string[] = [];
    const stream = this.client.listObjectsV2(this.bucket, prefix, true);
    for await (const item of stream) {
      const name = (item as BucketItem).name;
      if (name) names.push(name);
    }
    return names;
  }

  private async statRaw(key: string): Promise<{ stat: BucketItemStat; segmented: boolean }> {
    try {
      const stat = await this.client.statObject(this.bucket, key);
      const metaData = stat.metaData as Record<string, unknown>;
      return { stat, segmented: metaData[LAYOUT_META] === SEGMENTED_LAYOUT };
    } catch (error) {
      throw isMissing(error) ? notFound(key) : error;
    }
  }

  private async getRaw(name: string, range?: ByteRange): Promise<Readable> {
    try {
      if (!range) return await this.client.getObject(this.bucket, name);
      const length = range.end - range.start + 1;
      const response = await this.client.getPartialObject(this.bucket, name, range.start, length);
      // A server that ignores Range answers 200 with the whole object; some (s3rver) answer
      // "bytes=0-0" with more than one byte. Cut out exactly the bytes asked for.
      const status = (response as Partial<IncomingMessage>).statusCode;
      const sliced = Readable.from(
        exactly(response, status === 200 ? range.start : 0, length, name),
        { objectMode: false },
      );
      (sliced as Readable & { headers?: unknown }).headers = (
        response as Partial<IncomingMessage>
      ).headers;
      return sliced;
    } catch (error) {
      throw isMissing(error) ? notFound(name) : error;
    }
  }

  /** The manifest whose ETag is `etag`, or undefined when `key` changed since its stat. */
  private async readManifest(key: string, etag: string): Promise<Manifest | undefined> {
    const stream = await this.getRaw(key);
    const seen = etagOf(stream);
    if (seen !== undefined && seen !== etag) {
      stream.destroy();
      return undefined;
    }
    const body = await readAll(stream, 64 * 1024);
    let parsed: Partial<Manifest>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Partial<Manifest>;
    } catch (error) {
      throw new ObjectStoreError('CORRUPT', `object "${key}" has an unreadable manifest`, {
        cause: error,
      });
    }
    const { size, segmentSize, segmentCount, generation } = parsed;
    if (
      parsed.layout !== SEGMENTED_LAYOUT ||
      !Number.isSafeInteger(size) ||
      !Number.isSafeInteger(segmentSize) ||
      !Number.isSafeInteger(segmentCount) ||
      typeof generation !== 'string' ||
      !/^[0-9a-f]{16}$/.test(generation) ||
      (segmentSize as number) < 1 ||
      Math.ceil((size as number) / (segmentSize as number)) !== segmentCount
    ) {
      throw new ObjectStoreError('CORRUPT', `object "${key}" has an invalid manifest`);
    }
    return parsed as Manifest;
  }

  /** Streams `range` (or everything) of a segmented object, one segment request at a time. */
  private readSegments(key: string, manifest: Manifest, range?: ByteRange): Readable {
    const start = range ? range.start : 0;
    const end = range ? range.end : manifest.size - 1;
    const first = Math.floor(start / manifest.segmentSize);
    const last = Math.floor(end / manifest.segmentSize);
    const read = async function* (this: S3Store): AsyncGenerator<Buffer> {
      for (let index = first; index <= last; index += 1) {
        const base = index * manifest.segmentSize;
        const from = Math.max(start, base) - base;
        const to = Math.min(end, base + manifest.segmentSize - 1) - base;
        const name = this.segmentName(key, manifest.generation, index);
        const part = await this.getRaw(name, { start: from, end: to }).catch((error: unknown) => {
          throw isMissing(error) ||
            (error instanceof ObjectStoreError && error.code === 'NOT_FOUND')
            ? new ObjectStoreError('CORRUPT', `object "${key}" lost segment ${index}`)
            : error;
        });
        let length = 0;
        for await (const chunk of part) {
          length += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (length !== to - from + 1) {
          throw new ObjectStoreError('CORRUPT', `object "${key}" segment ${index} is truncated`);
        }
      }
    };
    return Readable.from(read.call(this), { objectMode: false });
  }
}
