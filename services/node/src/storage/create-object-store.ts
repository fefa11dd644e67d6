import type { StorageConfig } from '../config/config';
import { LocalDiskStore } from './local-disk-store';
import type { ObjectStore } from './object-store';
import { S3Store } from './s3-store';

/**
 * Builds the configured store and checks it can be used (the S3 bucket exists or was created),
 * so a wrong setting stops the node at boot rather than at the first upload.
 */
export async function createObjectStore(config: StorageConfig): Promise<ObjectStore> {
  switch (config.driver) {
    case 'local':
      return new LocalDiskStore(config.directory);
    case 's3': {
      const store = new S3Store({
        endPoint: config.endPoint,
        port: config.port,
        useSSL: config.useSSL,
        region: config.region,
        bucket: config.bucket,
        accessKey: config.accessKey,
        secretKey: config.secretKey,
        pathStyle: config.pathStyle,
        createBucket: config.createBucket,
      });
      await store.init();
      return store;
    }
    default: {
      const never: never = config;
      throw new Error(`unknown storage driver ${JSON.stringify(never)}`);
    }
  }
}

/** Injection token for the node's ObjectStore. */
export const OBJECT_STORE = Symbol('ObjectStore');
