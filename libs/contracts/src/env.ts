import { z } from 'zod';
import type { ZodType } from 'zod';

/** One environment variable: how to read it, what it is for, and whether it is a secret. */
export interface EnvVar<T> {
  schema: ZodType<T>;
  /** What the variable expects, written for the operator who set it wrong. */
  expects: string;
  /** Secrets are never echoed back, not even in the error that rejects them. */
  sensitive?: boolean;
  /** Used when the variable is unset. Without it the variable is required. */
  default?: string;
}

export type EnvSpec = Record<string, EnvVar<unknown>>;
export type EnvValues<S extends EnvSpec> = {
  [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never;
};

/** Raised when configuration is wrong; its message is the one line an operator needs. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Validates configuration once, at start-up. The first bad variable stops the process with one
 * line that names it and says what it expects.
 */
export function parseEnv<S extends EnvSpec>(
  spec: S,
  env: Record<string, string | undefined>,
): EnvValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(spec)) {
    const raw = env[name] === undefined || env[name] === '' ? variable.default : env[name];
    if (raw === undefined) {
      throw new ConfigError(
        `Invalid configuration: ${name} is not set; it expects ${variable.expects}.`,
      );
    }
    const parsed = variable.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = variable.sensitive ? '' : ` (got "${raw.slice(0, 80)}")`;
      throw new ConfigError(
        `Invalid configuration: ${name} is invalid${shown}; it expects ${variable.expects}.`,
      );
    }
    values[name] = parsed.data;
  }
  return values as EnvValues<S>;
}

/** Settings the control plane and nodes share, defined once so they cannot drift apart. */
export const SHARED_ENV = {
  CAUSEWAY_AMQP_URL: {
    schema: z.url({ protocol: /^amqps?$/ }),
    expects: 'a RabbitMQ URL such as amqp://user:password@127.0.0.1:5672 (amqps:// in production)',
    sensitive: true,
  },
  CAUSEWAY_BRIDGE_NAMESPACE: {
    schema: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
    expects:
      'lowercase letters, digits or -, starting with a letter (at most 32); the same on the control plane and its nodes',
    default: 'causeway',
  },
  CAUSEWAY_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    expects: 'one of fatal, error, warn, info, debug, trace, silent',
    default: 'info',
  },
} satisfies EnvSpec;
