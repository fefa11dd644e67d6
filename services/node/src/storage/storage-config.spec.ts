import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigError, parseEnv } from '@causeway/contracts';
import { startS3Server, type S3Server } from '@causeway/testing';
import { NODE_ENV, storageConfig, type StorageConfig } from '../config/config';
import { createObjectStore } from './create-object-store';
import { LocalDiskStore } from './local-disk-store';
import { S3Store } from './s3-store';

const BASE = {
  CAUSEWAY_NODE_ID: '0b6f6f0e-3c1e-4d7a-9a53-5d6a3f2b9c11',
  CAUSEWAY_AMQP_URL: 'amqp://node:secret@127.0.0.1:5672',
  CAUSEWAY_STATE_DIR: '/var/lib/causeway-node',
};

function storage(env: Record<string, string>): StorageConfig {
  return storageConfig(parseEnv(NODE_ENV, { ...BASE, ...env }));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const S3_ENV = {
  CAUSEWAY_STORAGE_DRIVER: 's3',
  CAUSEWAY_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
  CAUSEWAY_S3_REGION: 'eu-west-1',
  CAUSEWAY_S3_BUCKET: 'acme-causeway',
  CAUSEWAY_S3_ACCESS_KEY: 'AKIAEXAMPLE',
  CAUSEWAY_S3_SECRET_KEY: 'very-secret-value',
};

describe('storage configuration', () => {
  it('defaults to the local driver under <state dir>/objects', () => {
    expect(storage({})).toEqual({ driver: 'local', directory: '/var/lib/causeway-node/objects' });
    expect(storage({ CAUSEWAY_STORAGE_DIR: '/srv/objects' })).toEqual({
      driver: 'local',
      directory: '/srv/objects',
    });
  });

  it('refuses a relative storage directory and an unknown driver, naming the variable', () => {
    expect(errorOf(() => storage({ CAUSEWAY_STORAGE_DIR: 'objects' }))).toContain(
      'CAUSEWAY_STORAGE_DIR is invalid',
    );
    expect(errorOf(() => storage({ CAUSEWAY_STORAGE_DRIVER: 'ftp' }))).toContain(
      'CAUSEWAY_STORAGE_DRIVER is invalid',
    );
  });

  it('reads the s3 settings from the endpoint URL', () => {
    expect(storage(S3_ENV)).toEqual({
      driver: 's3',
      endPoint: 's3.eu-west-1.amazonaws.com',
      port: 443,
      useSSL: true,
      region: 'eu-west-1',
      bucket: 'acme-causeway',
      accessKey: 'AKIAEXAMPLE',
      secretKey: 'very-secret-value',
      pathStyle: true,
      createBucket: false,
    });
    expect(
      storage({
        ...S3_ENV,
        CAUSEWAY_S3_ENDPOINT: 'http://127.0.0.1:9000',
        CAUSEWAY_S3_REGION: '',
        CAUSEWAY_S3_PATH_STYLE: 'false',
        CAUSEWAY_S3_CREATE_BUCKET: 'true',
      }),
    ).toMatchObject({
      endPoint: '127.0.0.1',
      port: 9000,
      useSSL: false,
      region: 'us-east-1',
      pathStyle: false,
      createBucket: true,
    });
  });

  it.each([
    'CAUSEWAY_S3_ENDPOINT',
    'CAUSEWAY_S3_BUCKET',
    'CAUSEWAY_S3_ACCESS_KEY',
    'CAUSEWAY_S3_SECRET_KEY',
  ])('requires %s with the s3 driver, and names it', (name) => {
    expect(errorOf(() => storage({ ...S3_ENV, [name]: '' }))).toContain(`${name} is not set`);
  });

  it('refuses a bad endpoint or bucket, naming the variable, and never echoes secrets', () => {
    expect(errorOf(() => storage({ ...S3_ENV, CAUSEWAY_S3_ENDPOINT: 'ftp://x' }))).toContain(
      'CAUSEWAY_S3_ENDPOINT is invalid',
    );
    const withUser = errorOf(() =>
      storage({ ...S3_ENV, CAUSEWAY_S3_ENDPOINT: 'https://user:hunter2@s3.example.com' }),
    );
    expect(withUser).toContain('CAUSEWAY_S3_ENDPOINT is invalid');
    expect(withUser).not.toContain('hunter2');
    expect(
      errorOf(() => storage({ ...S3_ENV, CAUSEWAY_S3_ENDPOINT: 'https://s3.example.com/bucket' })),
    ).toContain('CAUSEWAY_S3_ENDPOINT is invalid');
    expect(errorOf(() => storage({ ...S3_ENV, CAUSEWAY_S3_BUCKET: 'ab' }))).toContain(
      'CAUSEWAY_S3_BUCKET is invalid',
    );
    expect(errorOf(() => storage({ ...S3_ENV, CAUSEWAY_S3_PATH_STYLE: 'yes' }))).toContain(
      'CAUSEWAY_S3_PATH_STYLE is invalid',
    );
  });
});

describe('createObjectStore', () => {
  let server: S3Server;
  let dir: string;
  beforeAll(async () => {
    server = await startS3Server();
    dir = await mkdtemp(join(tmpdir(), 'causeway-factory-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function s3(bucket: string, createBucket: boolean): StorageConfig {
    return {
      driver: 's3',
      endPoint: server.endpoint,
      port: server.port,
      useSSL: false,
      region: server.region,
      bucket,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      pathStyle: true,
      createBucket,
    };
  }

  it('builds a LocalDiskStore for the local driver', async () => {
    const store = await createObjectStore({ driver: 'local', directory: join(dir, 'objects') });
    expect(store).toBeInstanceOf(LocalDiskStore);
  });

  it('refuses a missing bucket unless told to create it', async () => {
    await expect(createObjectStore(s3('not-there', false))).rejects.toThrow(
      'CAUSEWAY_S3_CREATE_BUCKET',
    );
    const store = await createObjectStore(s3('made-at-boot', true));
    expect(store).toBeInstanceOf(S3Store);
    await store.put('ws/x', Readable.from([Buffer.from('hi')]), 2);
    await expect(store.stat('ws/x')).resolves.toEqual({ size: 2 });
  });
});
