import { z } from 'zod';
import type { AlertRule } from './rules/alert-rule';

/** People's names for the rules (email subjects, docs). */
export const ALERT_TITLES: Readonly<Record<AlertRule, string>> = {
  'download.outside_networks': 'Download from outside the trusted networks',
  'download.volume': 'Download volume far above baseline',
  'sign_in.burst': 'Burst of failed sign-ins',
};

/**
 * `PUT /api/v1/tenants/{t}/alert-settings`: replaces the settings. `webhookUrl` null turns the
 * webhook off; a threshold left out or null uses its default. A signing secret is generated when
 * a webhook is first set or `rotateSecret` is true, and shown in that answer only.
 */
export const alertSettingsBodySchema = z.strictObject({
  webhookUrl: z.string().max(2000).nullable(),
  emails: z.array(z.email().max(254)).max(20),
  trustedNetworks: z.array(z.string().max(100)).max(500).optional(),
  volumeMultiplier: z.number().int().min(2).max(10_000).nullable().optional(),
  volumeFloorBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  signInBurstThreshold: z.number().int().min(2).max(100_000).nullable().optional(),
  rotateSecret: z.boolean().optional(),
});

export type AlertSettingsBody = z.infer<typeof alertSettingsBodySchema>;

/** What GET and PUT answer. The secret appears only in the PUT that generated it. */
export interface AlertSettingsView {
  webhookUrl: string | null;
  /** Whether a signing secret exists (it is never shown again). */
  webhookSecretSet: boolean;
  emails: string[];
  trustedNetworks: string[];
  volumeMultiplier: number;
  volumeFloorBytes: number;
  signInBurstThreshold: number;
  /** The new signing secret, once. */
  webhookSecret?: string;
}
