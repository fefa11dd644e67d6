import { hostname } from 'node:os';
import { z } from 'zod';
import { BROKER_USERS_ENV, brokerUsersOptions } from '../broker-users/broker-users.module';
import type { BrokerUsersOptions } from '../broker-users/broker-users.service';
import { ConfigError, SHARED_ENV, parseEnv, type EnvValues } from '@causeway/contracts';
import type { SmtpConfig } from '../identity/email-codes/mailer';
import { ALERTS_ENV, alertsOptions, type AlertsOptions } from '../alerts/alerts.config';
import {
  DEFAULT_SEAL_TIMES,
  S3_BUCKET_PATTERN,
  S3_ENDPOINT_SCHEMA,
  S3_REGION_PATTERN,
  SEAL_TIMES_PATTERN,
  parseS3Endpoint,
  parseSealTimes,
  type S3Endpoint,
} from '@causeway/audit';

const port = z.coerce.number().int().min(1).max(65535);
const positiveMs = z.coerce.number().int().min(100).max(3_600_000);

/** Every setting of the control plane. Secrets are marked so they are never echoed. */
export const CONTROL_PLANE_ENV = {
  ...SHARED_ENV,
  ...BROKER_USERS_ENV,
  ...ALERTS_ENV,
  CAUSEWAY_DATABASE_URL: {
    schema: z.url({ protocol: /^postgres(ql)?$/ }),
    expects: 'a PostgreSQL URL such as postgres://user:password@127.0.0.1:5432/causeway',
    sensitive: true,
  },
  CAUSEWAY_ADMIN_TOKEN: {
    schema: z.string().min(32).max(512),
    expects:
      'the platform operator bearer token, at least 32 characters (generate one with `openssl rand -base64 32`)',
    sensitive: true,
  },
  CAUSEWAY_CA_SEAL_KEY: {
    schema: z.union([z.literal(''), z.string().min(12).max(1024)]),
    expects:
      'a passphrase of at least 12 characters that seals the certificate authority key at rest (empty disables node enrolment)',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_HTTP_HOST: {
    schema: z.string().min(1),
    expects: 'an address to listen on',
    default: '127.0.0.1',
  },
  CAUSEWAY_HTTP_PORT: { schema: port, expects: 'a TCP port (1-65535)', default: '8080' },
  CAUSEWAY_INSTANCE_ID: {
    schema: z.string().regex(/^[a-z0-9-]{1,64}$/),
    expects: 'a stable name for this instance: 1-64 lowercase letters, digits or -',
    default: defaultInstanceId(),
  },
  CAUSEWAY_NODE_OFFLINE_AFTER_MS: {
    schema: positiveMs,
    expects: 'milliseconds without a heartbeat after which a node shows offline (100-3600000)',
    default: '15000',
  },
  CAUSEWAY_COMMAND_TTL_MS: {
    schema: z.coerce
      .number()
      .int()
      .min(1000)
      .max(30 * 24 * 3_600_000),
    expects:
      'milliseconds a command to a node stays valid before the node refuses it (default one day)',
    default: String(24 * 3_600_000),
  },
  CAUSEWAY_DELEGATION_TTL_SECONDS: {
    schema: z.coerce.number().int().min(5).max(300),
    expects: 'seconds a delegation token sent with each request to a node stays valid (5-300)',
    default: '30',
  },
  CAUSEWAY_NODE_CERT_VALIDITY_SECONDS: {
    schema: z.coerce
      .number()
      .int()
      .min(300)
      .max(30 * 24 * 3600),
    expects:
      'seconds a node certificate is valid (300-2592000, default 7 days); nodes renew it at two thirds',
    default: String(7 * 24 * 3600),
  },
  CAUSEWAY_PUBLIC_URL: {
    schema: z.url({ protocol: /^https?$/ }),
    expects:
      'the URL users reach the control plane at, e.g. https://causeway.example.com (identity providers send users back to it)',
    default: 'http://127.0.0.1:8080',
  },
  CAUSEWAY_CONSOLE_DIR: {
    schema: z.union([z.literal(''), z.string().regex(/^\//, 'an absolute path')]),
    expects:
      'the absolute path of the built web console (the folder holding its index.html); empty: the dist folder of the installed @causeway/console package',
    default: '',
  },
  CAUSEWAY_DEV_ALLOW_HTTP_IDP: {
    schema: z.enum(['true', 'false']),
    expects:
      'true only for development and tests: allow OIDC identity providers on plain http (never in production)',
    default: 'false',
  },
  CAUSEWAY_SESSION_IDLE_MINUTES: {
    schema: z.coerce.number().int().min(1).max(1440),
    expects: 'minutes without a request after which a session ends (1-1440)',
    default: '30',
  },
  CAUSEWAY_SESSION_ABSOLUTE_HOURS: {
    schema: z.coerce.number().int().min(1).max(720),
    expects: 'hours after sign-in after which a session ends whatever its use (1-720)',
    default: '12',
  },
  CAUSEWAY_BRIDGE_TIMEOUT_MS: {
    schema: positiveMs,
    expects: 'milliseconds a bridge request waits for its reply (100-3600000)',
    default: '5000',
  },
  CAUSEWAY_TRUST_PROXY: {
    schema: z.union([
      z.literal(''),
      z
        .string()
        .regex(/^[0-9A-Za-z.:/, ]{1,2000}$/, 'addresses, CIDRs or loopback/linklocal/uniquelocal'),
    ]),
    expects:
      'the reverse proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDRs, or loopback, linklocal, uniquelocal (empty: none, the client is the TCP peer)',
    default: '',
  },
  CAUSEWAY_SMTP_URL: {
    schema: z.union([z.literal(''), z.url({ protocol: /^smtps?$/ })]),
    expects:
      'the mail relay for sign-in codes, smtp://user:password@host:587 (STARTTLS) or smtps://host:465; empty turns emailed codes off',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_SMTP_REQUIRE_TLS: {
    schema: z.enum(['true', 'false']),
    expects: 'true (refuse to send a code over smtp:// without STARTTLS) or false',
    default: 'true',
  },
  CAUSEWAY_MAIL_FROM: {
    schema: z.string().min(3).max(200).regex(/@/, 'an address'),
    expects: 'the From of sign-in emails, e.g. "Causeway <no-reply@example.com>"',
    default: 'Causeway <no-reply@causeway.invalid>',
  },
  CAUSEWAY_EMAIL_CODE_KEY: {
    schema: z.union([z.literal(''), z.string().min(32).max(512)]),
    expects:
      'a secret of at least 32 characters that keys the hashes of emailed sign-in codes (required with CAUSEWAY_SMTP_URL; `openssl rand -base64 32`)',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_AUDIT_SEAL_TIMES: {
    schema: z.string().regex(SEAL_TIMES_PATTERN, 'HH:MM[,HH:MM...] in UTC'),
    expects:
      'the UTC times of day at which the audit log is sealed into signed, archived segments, HH:MM[,HH:MM...] (default 00:00,12:00)',
    default: DEFAULT_SEAL_TIMES,
  },
  CAUSEWAY_AUDIT_ARCHIVE_DIR: {
    schema: z.string().min(1),
    expects:
      'the directory where sealed audit segments and their signed manifests are archived (created with mode 700 at the first seal)',
    default: '/var/lib/causeway-control-plane/audit-archive',
  },
  CAUSEWAY_AUDIT_ARCHIVE: {
    schema: z.enum(['directory', 's3']),
    expects:
      'where sealed audit segments are archived: directory (CAUSEWAY_AUDIT_ARCHIVE_DIR) or s3 (an S3-compatible bucket shared by every instance, CAUSEWAY_AUDIT_S3_*)',
    default: 'directory',
  },
  CAUSEWAY_AUDIT_S3_ENDPOINT: {
    schema: S3_ENDPOINT_SCHEMA,
    expects:
      'the S3 endpoint URL of the audit archive with CAUSEWAY_AUDIT_ARCHIVE=s3, such as https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 (no path, no credentials)',
    // Not a secret, but never echoed: someone may have put the credentials in the URL.
    sensitive: true,
    default: '',
  },
  CAUSEWAY_AUDIT_S3_REGION: {
    schema: z.string().regex(S3_REGION_PATTERN),
    expects: 'the region of the audit archive bucket, such as us-east-1 or eu-west-1',
    default: 'us-east-1',
  },
  CAUSEWAY_AUDIT_S3_BUCKET: {
    schema: z.union([z.literal(''), z.string().regex(S3_BUCKET_PATTERN)]),
    expects:
      'the audit archive bucket with CAUSEWAY_AUDIT_ARCHIVE=s3 (it must exist): 3-63 lowercase letters, digits, . or -, starting and ending with a letter or digit',
    default: '',
  },
  CAUSEWAY_AUDIT_S3_PREFIX: {
    schema: z.union([
      z.literal(''),
      z.string().regex(/^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,7}$/),
    ]),
    expects:
      'an optional key prefix inside the audit archive bucket, such as causeway/prod: letters, digits, _ or -, in at most 8 parts separated by /, no leading or trailing /',
    default: '',
  },
  CAUSEWAY_AUDIT_S3_ACCESS_KEY: {
    schema: z.string(),
    expects: 'the access key id of the audit archive bucket with CAUSEWAY_AUDIT_ARCHIVE=s3',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_AUDIT_S3_SECRET_KEY: {
    schema: z.string(),
    expects: 'the secret access key of the audit archive bucket with CAUSEWAY_AUDIT_ARCHIVE=s3',
    sensitive: true,
    default: '',
  },
  CAUSEWAY_AUDIT_S3_PATH_STYLE: {
    schema: z.enum(['true', 'false']),
    expects:
      'true for path-style URLs (host/bucket/key; MinIO and most S3-compatible servers), false for virtual-hosted style (bucket.host/key)',
    default: 'true',
  },
  CAUSEWAY_AUDIT_PSEUDONYM_KEY: {
    schema: z.union([z.literal(''), z.string().min(32).max(512)]),
    expects:
      "a secret of at least 32 characters from which each tenant's audit pseudonym key is derived (`openssl rand -base64 32`; empty: derived from CAUSEWAY_CA_SEAL_KEY, or CAUSEWAY_ADMIN_TOKEN when that is empty)",
    sensitive: true,
    default: '',
  },
};

type Env = EnvValues<typeof CONTROL_PLANE_ENV>;

/** Validated configuration, named for the code that reads it. */
export interface ControlPlaneConfig {
  databaseUrl: string;
  amqpUrl: string;
  adminToken: string;
  httpHost: string;
  httpPort: number;
  bridgeNamespace: string;
  instanceId: string;
  nodeOfflineAfterMs: number;
  bridgeTimeoutMs: number;
  commandTtlMs: number;
  delegationTtlSeconds: number;
  publicUrl: string;
  /** The built web console served at `/`; undefined: found through the @causeway/console package. */
  consoleDir: string | undefined;
  devAllowHttpIdp: boolean;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  nodeCertValiditySeconds: number;
  logLevel: Env['CAUSEWAY_LOG_LEVEL'];
  /** The management API through which each node gets its own broker user. */
  brokerUsers: BrokerUsersOptions;
  /** Seals the CA key in the database; undefined when enrolment is off. */
  caSealKey: string | undefined;
  /** Express `trust proxy`: which peers' X-Forwarded-For names the client (false: none). */
  trustProxy: string[] | false;
  /** Emailed sign-in codes; undefined when no mail relay is configured. */
  emailCodes: EmailCodesConfig | undefined;
  /** Anomaly alerts: cool-down, delivery interval and retries, internal webhook targets. */
  alerts: AlertsOptions;
  /** Sealing schedule (minutes after midnight UTC) and archive of the hash-chained audit log. */
  audit: {
    sealTimes: number[];
    archive: AuditArchiveConfig;
  };
  /**
   * The server secret each tenant's audit pseudonym key is derived from (labelled by its source,
   * so that a change of source changes the pseudonyms rather than colliding).
   */
  auditPseudonymSecret: string;
}

/** Where sealed audit segments go; S3 lets several instances share one archive. */
export type AuditArchiveConfig =
  | { driver: 'directory'; directory: string }
  | (S3Endpoint & {
      driver: 's3';
      region: string;
      bucket: string;
      /** Key prefix inside the bucket ('' for none), so a bucket can hold several deployments. */
      prefix: string;
      accessKey: string;
      secretKey: string;
      pathStyle: boolean;
    });

export interface EmailCodesConfig {
  smtp: SmtpConfig;
  /** Keys the stored HMAC of each code. */
  hmacKey: Buffer;
}

/** The mail relay from its URL: credentials from the userinfo, TLS from the scheme. */
function emailCodesConfig(v: Env): EmailCodesConfig | undefined {
  if (v.CAUSEWAY_SMTP_URL === '') return undefined;
  if (v.CAUSEWAY_EMAIL_CODE_KEY === '') {
    throw new ConfigError(
      `Invalid configuration: CAUSEWAY_EMAIL_CODE_KEY is not set; it is required when CAUSEWAY_SMTP_URL is set and expects ${CONTROL_PLANE_ENV.CAUSEWAY_EMAIL_CODE_KEY.expects}.`,
    );
  }
  const url = new URL(v.CAUSEWAY_SMTP_URL);
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  return {
    smtp: {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
      secure,
      requireTls: !secure && v.CAUSEWAY_SMTP_REQUIRE_TLS === 'true',
      ...(user === '' ? {} : { auth: { user, pass: decodeURIComponent(url.password) } }),
      from: v.CAUSEWAY_MAIL_FROM,
    },
    hmacKey: Buffer.from(v.CAUSEWAY_EMAIL_CODE_KEY, 'utf8'),
  };
}

/** The archive settings, checked together: the S3 variables are required only with s3. */
function auditArchiveConfig(v: Env): AuditArchiveConfig {
  if (v.CAUSEWAY_AUDIT_ARCHIVE === 'directory') {
    return { driver: 'directory', directory: v.CAUSEWAY_AUDIT_ARCHIVE_DIR };
  }
  const required = (
    name:
      | 'CAUSEWAY_AUDIT_S3_ENDPOINT'
      | 'CAUSEWAY_AUDIT_S3_BUCKET'
      | 'CAUSEWAY_AUDIT_S3_ACCESS_KEY'
      | 'CAUSEWAY_AUDIT_S3_SECRET_KEY',
  ): string => {
    const value = v[name];
    if (value === '') {
      throw new ConfigError(
        `Invalid configuration: ${name} is not set; it is required when CAUSEWAY_AUDIT_ARCHIVE=s3 and expects ${CONTROL_PLANE_ENV[name].expects}.`,
      );
    }
    return value;
  };
  return {
    driver: 's3',
    ...parseS3Endpoint(
      'CAUSEWAY_AUDIT_S3_ENDPOINT',
      required('CAUSEWAY_AUDIT_S3_ENDPOINT'),
      CONTROL_PLANE_ENV.CAUSEWAY_AUDIT_S3_ENDPOINT.expects,
    ),
    region: v.CAUSEWAY_AUDIT_S3_REGION,
    bucket: required('CAUSEWAY_AUDIT_S3_BUCKET'),
    prefix: v.CAUSEWAY_AUDIT_S3_PREFIX,
    accessKey: required('CAUSEWAY_AUDIT_S3_ACCESS_KEY'),
    secretKey: required('CAUSEWAY_AUDIT_S3_SECRET_KEY'),
    pathStyle: v.CAUSEWAY_AUDIT_S3_PATH_STYLE === 'true',
  };
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
): ControlPlaneConfig {
  const v = parseEnv(CONTROL_PLANE_ENV, env);
  return {
    databaseUrl: v.CAUSEWAY_DATABASE_URL,
    amqpUrl: v.CAUSEWAY_AMQP_URL,
    adminToken: v.CAUSEWAY_ADMIN_TOKEN,
    httpHost: v.CAUSEWAY_HTTP_HOST,
    httpPort: v.CAUSEWAY_HTTP_PORT,
    bridgeNamespace: v.CAUSEWAY_BRIDGE_NAMESPACE,
    instanceId: v.CAUSEWAY_INSTANCE_ID,
    nodeOfflineAfterMs: v.CAUSEWAY_NODE_OFFLINE_AFTER_MS,
    bridgeTimeoutMs: v.CAUSEWAY_BRIDGE_TIMEOUT_MS,
    commandTtlMs: v.CAUSEWAY_COMMAND_TTL_MS,
    delegationTtlSeconds: v.CAUSEWAY_DELEGATION_TTL_SECONDS,
    publicUrl: v.CAUSEWAY_PUBLIC_URL.replace(/\/+$/, ''),
    consoleDir: v.CAUSEWAY_CONSOLE_DIR === '' ? undefined : v.CAUSEWAY_CONSOLE_DIR,
    devAllowHttpIdp: v.CAUSEWAY_DEV_ALLOW_HTTP_IDP === 'true',
    sessionIdleMs: v.CAUSEWAY_SESSION_IDLE_MINUTES * 60_000,
    sessionAbsoluteMs: v.CAUSEWAY_SESSION_ABSOLUTE_HOURS * 3_600_000,
    nodeCertValiditySeconds: v.CAUSEWAY_NODE_CERT_VALIDITY_SECONDS,
    logLevel: v.CAUSEWAY_LOG_LEVEL,
    caSealKey: v.CAUSEWAY_CA_SEAL_KEY === '' ? undefined : v.CAUSEWAY_CA_SEAL_KEY,
    brokerUsers: brokerUsersOptions(v, v.CAUSEWAY_AMQP_URL, v.CAUSEWAY_BRIDGE_NAMESPACE),
    trustProxy:
      v.CAUSEWAY_TRUST_PROXY === ''
        ? false
        : v.CAUSEWAY_TRUST_PROXY.split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    emailCodes: emailCodesConfig(v),
    alerts: alertsOptions(v),
    audit: {
      sealTimes: parseSealTimes(v.CAUSEWAY_AUDIT_SEAL_TIMES),
      archive: auditArchiveConfig(v),
    },
    auditPseudonymSecret:
      v.CAUSEWAY_AUDIT_PSEUDONYM_KEY !== ''
        ? `pseudonym-key:${v.CAUSEWAY_AUDIT_PSEUDONYM_KEY}`
        : v.CAUSEWAY_CA_SEAL_KEY !== ''
          ? `ca-seal-key:${v.CAUSEWAY_CA_SEAL_KEY}`
          : `admin-token:${v.CAUSEWAY_ADMIN_TOKEN}`,
  };
}

function defaultInstanceId(): string {
  const name = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 64);
  return name.length > 0 ? name : 'control-plane';
}

/** Injection token of the validated configuration. */
export const CONFIG = Symbol('ControlPlaneConfig');
