import { z } from 'zod';
import type { EnvValues } from '@causeway/contracts';

/** The alert settings of the control plane (spread into CONTROL_PLANE_ENV). */
export const ALERTS_ENV = {
  CAUSEWAY_ALERT_WEBHOOK_ALLOW_PRIVATE: {
    schema: z.enum(['true', 'false']),
    expects:
      'true or false: true lets tenants point alert webhooks at loopback, private and other internal addresses, and at plain http (on-prem installs, tests); never on a shared or public control plane',
    default: 'false',
  },
  CAUSEWAY_ALERTS_COOLDOWN_MINUTES: {
    schema: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60),
    expects:
      'minutes during which a rule raises at most one alert for the same subject (1-10080, default 60)',
    default: '60',
  },
  CAUSEWAY_ALERTS_DELIVERY_INTERVAL_MS: {
    schema: z.coerce.number().int().min(50).max(600_000),
    expects: 'milliseconds between looks at the alert delivery outbox (50-600000, default 5000)',
    default: '5000',
  },
  CAUSEWAY_ALERTS_RETRY_BASE_MS: {
    schema: z.coerce.number().int().min(50).max(3_600_000),
    expects:
      'milliseconds before the first retry of a failed alert delivery; doubled at each further try, with jitter (default 10000)',
    default: '10000',
  },
};

export type AlertsEnv = EnvValues<typeof ALERTS_ENV>;

/** Validated alert options. */
export interface AlertsOptions {
  /**
   * Accept webhooks on internal addresses and plain http. Off, a tenant admin could otherwise
   * make the control plane call into the operator's network (SSRF).
   */
  webhookAllowPrivate: boolean;
  cooldownMs: number;
  deliveryIntervalMs: number;
  retryBaseMs: number;
  /** Give up (and record `alert.delivery.failed`) after this many tries. */
  maxAttempts: number;
  /** A webhook call that takes longer fails (and is retried). */
  webhookTimeoutMs: number;
}

export function alertsOptions(env: AlertsEnv): AlertsOptions {
  return {
    webhookAllowPrivate: env.CAUSEWAY_ALERT_WEBHOOK_ALLOW_PRIVATE === 'true',
    cooldownMs: env.CAUSEWAY_ALERTS_COOLDOWN_MINUTES * 60_000,
    deliveryIntervalMs: env.CAUSEWAY_ALERTS_DELIVERY_INTERVAL_MS,
    retryBaseMs: env.CAUSEWAY_ALERTS_RETRY_BASE_MS,
    maxAttempts: 8,
    webhookTimeoutMs: 5_000,
  };
}
