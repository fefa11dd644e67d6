import { z } from 'zod';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, SHARED_ENV, parseEnv, type EnvValues } from '@causeway/contracts';
import { ENROLMENT_FILE, enrolmentFileSchema, type EnrolmentFile } from '../enrolment/enrol';
import {
  DEFAULT_SEAL_TIMES,
  S3_BUCKET_PATTERN,
  S3_ENDPOINT_SCHEMA,
  S3_REGION_PATTERN,
  SEAL_TIMES_PATTERN,
  parseS3Endpoint,
  parseSealTimes,
} from '@causeway/audit';

/** Every setting of a node. The node only dials out: there is no listen address. */
export const NODE_ENV = {
  ...SHARED_ENV,
  CAUSEWAY_NODE_ID: {
    schema: z.uuid(),
    expects: 'the node id (a UUID); normally read from the enrolment in the state directory',
  },
  CAUSEWAY_STATE_DIR: {
    schema: z.string().min(1),
    expects: 'the directory where the node keeps its database and storage (created with mode 700)',
    default: '/var/lib/causeway-node',
  },
  CAUSEWAY_FAULTS: {
    schema: z
      .string()
      .regex(/^(crash-after-record:[a-z][a-z.-]*)?(,crash-after-record:[a-z][a-z.-]*)*$/),
    expects:
      'empty, or fault injection for resilience tests such as crash-after-record:workspace.provision',
    default: '',
  },
  CAUSEWAY_CERT_RENEW_BEFORE_SECONDS: {
    schema: z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600),
    expects:
      'seconds before expiry at which the node renews its certificate (0 = when a third of its lifetime is left)',
    default: '0',
  },
  CAUSEWAY_CERT_CHECK_INTERVAL_MS: {
    schema: z.coerce.number().int().min(100).max(3_600_000),
    expects: 'milliseconds between checks of the certificate expiry (100-3600000)',
    default: '60000',
  },
  CAUSEWAY_HEARTBEAT_INTERVAL_MS: {
    schema: z.coerce.number().int().min(100).max(600_000),
    expects: 'milliseconds between heartbeats (100-600000)',
    default: '5000',
  },
  CAUSEWAY_PREFETCH: {
    schema: z.coerce.number().int().min(1).max(1000),
    expects: 'how many requests the node handles at once (1-1000)',
    default: '16',
  },
  CAUSEWAY_UPLOAD_SWEEP_INTERVAL_MS: {
    schema: z.coerce.number().int().min(0).max(86_400_000),
    expects:
      'milliseconds between sweeps of expired unfinished uploads (0 = never; at most 86400000)',
    default: '3600000',
  },
  // Keys (services/node/src/keys): the secret that seals the node's keystore at rest.
  CAUSEWAY_NODE_SEAL_KEY: {
    schema: z.union([z.literal(''), z.string().min(16).max(1024)]),
    expects:
      'empty (a random key file master-seal.key is created in the state directory), or a passphrase of at least 16 characters that seals the master keys at rest',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_KEY_ROTATION_CHECK_INTERVAL_MS: {
    schema: z.coerce.number().int().min(100).max(86_400_000),
    expects:
      'milliseconds between checks for master keys older than their tenant rotation period (100-86400000)',
    default: '3600000',
  },
  // Audit (services/node/src/audit): when the hash-chained log is sealed, how long archives stay.
  CAUSEWAY_AUDIT_SEAL_TIMES: {
    schema: z.string().regex(SEAL_TIMES_PATTERN, 'HH:MM[,HH:MM...] in UTC'),
    expects:
      'the UTC times of day at which the audit log is sealed into signed segments in storage, HH:MM[,HH:MM...] (default 00:00,12:00)',
    default: DEFAULT_SEAL_TIMES,
  },
  CAUSEWAY_AUDIT_RETENTION_DAYS: {
    schema: z.coerce.number().int().min(1).max(36_500),
    expects: 'days archived audit segments are kept before they are removed (1-36500)',
    default: '365',
  },
  // Storage (services/node/src/storage): where workspace files' encrypted bytes are kept.
  CAUSEWAY_STORAGE_DRIVER: {
    schema: z.enum(['local', 's3']),
    expects:
      'where workspace files are stored: local (a directory) or s3 (an S3-compatible bucket)',
    default: 'local',
  },
  CAUSEWAY_STORAGE_DIR: {
    schema: z.string(),
    expects:
      'an absolute directory for stored files with the local driver (default <CAUSEWAY_STATE_DIR>/objects)',
    default: '',
  },
  CAUSEWAY_S3_ENDPOINT: {
    schema: S3_ENDPOINT_SCHEMA,
    expects:
      'the S3 endpoint URL with the s3 driver, such as https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 (no path, no credentials)',
    default: '',
  },
  CAUSEWAY_S3_REGION: {
    schema: z.string().regex(S3_REGION_PATTERN),
    expects: 'the bucket region, such as us-east-1 or eu-west-1',
    default: 'us-east-1',
  },
  CAUSEWAY_S3_BUCKET: {
    schema: z.union([z.literal(''), z.string().regex(S3_BUCKET_PATTERN)]),
    expects:
      'the bucket name with the s3 driver: 3-63 lowercase letters, digits, . or -, starting and ending with a letter or digit',
    default: '',
  },
  CAUSEWAY_S3_ACCESS_KEY: {
    schema: z.string(),
    expects: 'the access key id with the s3 driver',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_S3_SECRET_KEY: {
    schema: z.string(),
    expects: 'the secret access key with the s3 driver',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_S3_PATH_STYLE: {
    schema: z.enum(['true', 'false']).transform((value) => value === 'true'),
    expects:
      'true for path-style URLs (host/bucket/key; MinIO and most S3-compatible servers), false for virtual-hosted style (bucket.host/key)',
    default: 'true',
  },
  CAUSEWAY_S3_CREATE_BUCKET: {
    schema: z.enum(['true', 'false']).transform((value) => value === 'true'),
    expects: 'true to create the bucket at start-up when it is missing, otherwise false',
    default: 'false',
  },
};

/** Where the node keeps workspace files' (encrypted) bytes; see docs/operator/storage.md. */
export type StorageConfig =
  | { driver: 'local'; directory: string }
  | {
      driver: 's3';
      endPoint: string;
      port: number;
      useSSL: boolean;
      region: string;
      bucket: string;
      accessKey: string;
      secretKey: string;
      pathStyle: boolean;
      createBucket: boolean;
    };

export interface NodeConfig {
  nodeId: string;
  /** From the enrolment: the tenant this node serves, and where its control plane is. */
  tenantId: string;
  controlPlane: string;
  certRenewBeforeSeconds: number;
  certCheckIntervalMs: number;
  amqpUrl: string;
  bridgeNamespace: string;
  stateDir: string;
  faults: string;
  heartbeatIntervalMs: number;
  prefetch: number;
  /** How often expired unfinished uploads are dropped (0 = never). */
  uploadSweepIntervalMs: number;
  logLevel: string;
  /** Storage: the object store driver and its settings. */
  storage: StorageConfig;
  /** Keys: passphrase sealing the keystore; '' means the key file master-seal.key in stateDir. */
  nodeSealKey: string;
  /** Keys: how often the scheduler looks for master keys due for rotation. */
  keyRotationCheckIntervalMs: number;
  /** Audit: seal times (minutes after midnight UTC) and retention of archived segments. */
  audit: { sealTimes: number[]; retentionDays: number };
}

/**
 * Reads the configuration. A node enrolled with `causeway-node enroll` finds its id, broker URL
 * and namespace in its state directory; environment variables still win when set.
 */
export function loadNodeConfig(env: Record<string, string | undefined> = process.env): NodeConfig {
  const stateDir = env.CAUSEWAY_STATE_DIR || NODE_ENV.CAUSEWAY_STATE_DIR.default;
  const enrolled = readEnrolment(stateDir);
  if (!enrolled) {
    throw new ConfigError(
      `Invalid configuration: ${stateDir} holds no enrolled node (${ENROLMENT_FILE}). Enrol it first with "causeway-node enroll --control-plane URL --token TOKEN --name NAME --state-dir ${stateDir}", or set CAUSEWAY_STATE_DIR to the directory you enrolled into.`,
    );
  }
  const v = parseEnv(NODE_ENV, {
    CAUSEWAY_NODE_ID: enrolled.nodeId,
    CAUSEWAY_AMQP_URL: enrolled.amqpUrl,
    CAUSEWAY_BRIDGE_NAMESPACE: enrolled.bridgeNamespace,
    ...Object.fromEntries(
      Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
    ),
  });
  return {
    nodeId: v.CAUSEWAY_NODE_ID,
    tenantId: enrolled.tenantId,
    controlPlane: enrolled.controlPlane,
    certRenewBeforeSeconds: v.CAUSEWAY_CERT_RENEW_BEFORE_SECONDS,
    certCheckIntervalMs: v.CAUSEWAY_CERT_CHECK_INTERVAL_MS,
    amqpUrl: v.CAUSEWAY_AMQP_URL,
    bridgeNamespace: v.CAUSEWAY_BRIDGE_NAMESPACE,
    stateDir: v.CAUSEWAY_STATE_DIR,
    faults: v.CAUSEWAY_FAULTS,
    heartbeatIntervalMs: v.CAUSEWAY_HEARTBEAT_INTERVAL_MS,
    prefetch: v.CAUSEWAY_PREFETCH,
    uploadSweepIntervalMs: v.CAUSEWAY_UPLOAD_SWEEP_INTERVAL_MS,
    logLevel: v.CAUSEWAY_LOG_LEVEL,
    storage: storageConfig(v),
    nodeSealKey: v.CAUSEWAY_NODE_SEAL_KEY,
    keyRotationCheckIntervalMs: v.CAUSEWAY_KEY_ROTATION_CHECK_INTERVAL_MS,
    audit: {
      sealTimes: parseSealTimes(v.CAUSEWAY_AUDIT_SEAL_TIMES),
      retentionDays: v.CAUSEWAY_AUDIT_RETENTION_DAYS,
    },
  };
}

function required(name: keyof typeof NODE_ENV, value: string): string {
  if (value === '') {
    throw new ConfigError(
      `Invalid configuration: ${name} is not set; it expects ${NODE_ENV[name].expects}.`,
    );
  }
  return value;
}

/**
 * The storage settings, checked together: the S3 variables are required only with the s3
 * driver. Exported so the checks can be tested without an enrolled state directory.
 */
export function storageConfig(
  v: Pick<
    EnvValues<typeof NODE_ENV>,
    | 'CAUSEWAY_STATE_DIR'
    | 'CAUSEWAY_STORAGE_DRIVER'
    | 'CAUSEWAY_STORAGE_DIR'
    | 'CAUSEWAY_S3_ENDPOINT'
    | 'CAUSEWAY_S3_REGION'
    | 'CAUSEWAY_S3_BUCKET'
    | 'CAUSEWAY_S3_ACCESS_KEY'
    | 'CAUSEWAY_S3_SECRET_KEY'
    | 'CAUSEWAY_S3_PATH_STYLE'
    | 'CAUSEWAY_S3_CREATE_BUCKET'
  >,
): StorageConfig {
  if (v.CAUSEWAY_STORAGE_DRIVER === 'local') {
    const directory = v.CAUSEWAY_STORAGE_DIR || join(v.CAUSEWAY_STATE_DIR, 'objects');
    if (v.CAUSEWAY_STORAGE_DIR && !isAbsolute(v.CAUSEWAY_STORAGE_DIR)) {
      throw new ConfigError(
        `Invalid configuration: CAUSEWAY_STORAGE_DIR is invalid (got "${directory.slice(0, 80)}"); it expects ${NODE_ENV.CAUSEWAY_STORAGE_DIR.expects}.`,
      );
    }
    return { driver: 'local', directory: resolve(directory) };
  }
  return {
    driver: 's3',
    ...parseS3Endpoint(
      'CAUSEWAY_S3_ENDPOINT',
      required('CAUSEWAY_S3_ENDPOINT', v.CAUSEWAY_S3_ENDPOINT),
      NODE_ENV.CAUSEWAY_S3_ENDPOINT.expects,
    ),
    region: v.CAUSEWAY_S3_REGION,
    bucket: required('CAUSEWAY_S3_BUCKET', v.CAUSEWAY_S3_BUCKET),
    accessKey: required('CAUSEWAY_S3_ACCESS_KEY', v.CAUSEWAY_S3_ACCESS_KEY),
    secretKey: required('CAUSEWAY_S3_SECRET_KEY', v.CAUSEWAY_S3_SECRET_KEY),
    pathStyle: v.CAUSEWAY_S3_PATH_STYLE,
    createBucket: v.CAUSEWAY_S3_CREATE_BUCKET,
  };
}

export const NODE_CONFIG = Symbol('NodeConfig');
export const NODE_LOGGER = Symbol('NodeLogger');

function readEnrolment(stateDir: string): EnrolmentFile | undefined {
  const file = join(stateDir, ENROLMENT_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return enrolmentFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    throw new ConfigError(
      `Invalid configuration: ${file} is not a valid enrolment record; enrol again.`,
    );
  }
}
