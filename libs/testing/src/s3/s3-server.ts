import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** A running in-process S3-compatible server (s3rver) on 127.0.0.1. */
export interface S3Server {
  /** Host to give the S3 client (no scheme, no port). */
  endpoint: string;
  port: number;
  /** http://127.0.0.1:<port>, the form CAUSEWAY_S3_ENDPOINT takes. */
  url: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** A bucket that exists already. */
  bucket: string;
  /** Where s3rver keeps its files, to check the stored bytes directly. */
  directory: string;
  /** The file s3rver keeps an object's bytes in. */
  objectPath(key: string, bucket?: string): string;
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  /** Name of the bucket created at start (at least 3 characters). Default `causeway-test`. */
  bucket?: string;
}

/**
 * Starts s3rver on a random port with its data in a fresh temporary directory. It accepts the
 * fixed credentials S3RVER/S3RVER and checks signatures, so the real client code path runs.
 * s3rver does not implement multipart-upload listing: keep each object at most 64 MiB.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const bucket = options.bucket ?? 'causeway-test';
  const directory = await mkdtemp(join(tmpdir(), 'causeway-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  let address;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint: '127.0.0.1',
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    region: 'us-east-1',
    bucket,
    directory,
    // s3rver's FilesystemStore layout: <dir>/<bucket>/<key path>._S3rver_object
    objectPath: (key, inBucket = bucket) => {
      const parts = key.split('/');
      const name = `${parts.pop() ?? ''}._S3rver_object`;
      return join(directory, inBucket, ...parts, name);
    },
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
