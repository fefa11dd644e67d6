import type { Readable } from 'node:stream';
import { Client, type BucketItem } from 'minio';
import type { AuditArchive, S3Endpoint } from '@causeway/audit';
import { checkKey, isAuditArchiveKey } from './audit-archive-store';

export interface S3AuditArchiveOptions extends S3Endpoint {
  region: string;
  bucket: string;
  /** Key prefix inside the bucket, without slashes at either end; '' for none. */
  prefix: string;
  accessKey: string;
  secretKey: string;
  /** Path-style URLs (`host/bucket/key`); false for virtual-hosted style. */
  pathStyle: boolean;
}

/**
 * The minio client uploads anything larger than its part size (64 MiB by default) in parts; at
 * S3's largest single PUT, every segment a Buffer can hold goes in one request.
 */
const SINGLE_PUT_LIMIT = 5 * 1024 * 1024 * 1024;

/** Far above any segment; stops a planted object from exhausting memory when read. */
const MAX_OBJECT_BYTES = 2 * 1024 * 1024 * 1024;

function isMissing(error: unknown): boolean {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'NoSuchKey' || code === 'NotFound';
}

async function readAll(stream: Readable, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    if (length > MAX_OBJECT_BYTES) {
      stream.destroy();
      throw new Error(`audit archive object ${JSON.stringify(key)} is larger than any segment`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The control plane's audit archive in an S3-compatible bucket (AWS S3, MinIO, ...), so that
 * every instance of a control plane seals into, and verifies from, the same place.
 *
 * Each key is one object, written with a single PUT of known length (up to S3's 5 GiB limit for
 * one PUT; no multipart upload, which some S3-compatible servers lack), which S3 makes visible
 * atomically, so a reader never sees half a segment. Immutability
 * is the bucket's business (Object Lock, see docs/operator/audit-archives.md): the archive works
 * the same with or without it, and verification detects what a writable bucket lets through.
 */
export class S3AuditArchive implements AuditArchive {
  readonly bucket: string;
  private readonly client: Client;
  private readonly prefix: string;

  constructor(options: S3AuditArchiveOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix === '' ? '' : `${options.prefix}/`;
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      region: options.region,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      pathStyle: options.pathStyle,
      partSize: SINGLE_PUT_LIMIT,
    });
  }

  /**
   * Checks the bucket is reachable. Never creates it: a bucket meant to be immutable needs Object
   * Lock chosen when it is created, which is the operator's decision.
   */
  async init(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) {
      throw new Error(
        `S3 bucket "${this.bucket}" of the audit archive (CAUSEWAY_AUDIT_S3_BUCKET) does not exist; create it (see docs/operator/audit-archives.md)`,
      );
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    checkKey(key);
    await this.client.putObject(this.bucket, this.prefix + key, data, data.length, {
      'Content-Type': 'application/octet-stream',
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    let stream: Readable;
    try {
      stream = await this.client.getObject(this.bucket, this.prefix + key);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return readAll(stream, key);
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    // ListObjects (v1, paged by marker) rather than v2: every S3-compatible server has it, while
    // some answer v2's continuation tokens badly (s3rver fails past the first 1000 keys).
    const items = this.client.listObjects(this.bucket, this.prefix + prefix, true);
    for await (const item of items) {
      const name = (item as BucketItem).name;
      if (!name?.startsWith(this.prefix)) continue;
      const key = name.slice(this.prefix.length);
      // Objects someone else put in the bucket are not ours to read (and could not be named).
      if (isAuditArchiveKey(key)) keys.push(key);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    // S3 answers a delete of nothing with success; some compatible servers do not.
    await this.client.removeObject(this.bucket, this.prefix + key).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }
}
