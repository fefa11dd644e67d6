import { z } from 'zod';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, SHARED_ENV, parseEnv } from '@causeway/contracts';
import { ENROLMENT_FILE, enrolmentFileSchema, type EnrolmentFile } from '../enrolment/enrol';

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
  logLevel: string;
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
    logLevel: v.CAUSEWAY_LOG_LEVEL,
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
