import { Inject, Injectable } from '@nestjs/common';
import { CausewayError } from '@causeway/contracts';
import { sealSecret, unsealSecret } from '@causeway/crypto';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { AllowList } from '../identity/allow-list/allow-list';
import { AllowListError } from '../identity/allow-list/allow-list.errors';
import { TenantsService } from '../tenants/tenants.service';
import { AlertsRepository, type AlertSettingsRow } from './alerts.repository';
import { alertSettingsBodySchema, type AlertSettingsView } from './alerts.dto';
import { DEFAULT_VOLUME_THRESHOLDS, type VolumeThresholds } from './rules/download-volume.rule';
import { DEFAULT_BURST_THRESHOLD } from './rules/sign-in-burst.rule';
import { WebhookClient } from './webhook-client';
import { newWebhookSecret } from './webhook-signature';

const SECRET_PURPOSE = 'causeway/alerts/webhook-secret';

/** A tenant's settings with the defaults filled in, as the rules and deliveries read them. */
export interface EffectiveAlertSettings {
  webhookUrl: string | null;
  emails: string[];
  /** Trusted networks when set, else the tenant's allow-list (empty: rule 1 stays quiet). */
  networks: AllowList;
  volume: VolumeThresholds;
  signInBurstThreshold: number;
}

/**
 * Each tenant's alert settings. The webhook signing secret is generated here, shown once, and
 * kept sealed with CAUSEWAY_CA_SEAL_KEY (it must be readable to sign, so it cannot be hashed).
 */
@Injectable()
export class AlertSettingsService {
  private readonly unsealed = new Map<string, string>();

  constructor(
    private readonly repo: AlertsRepository,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly webhooks: WebhookClient,
  ) {}

  async get(tenantSlug: string): Promise<AlertSettingsView> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    return view(await this.repo.settings(tenant.id));
  }

  async set(tenantSlug: string, input: unknown, actor: string): Promise<AlertSettingsView> {
    const body = parseInput(alertSettingsBodySchema, input, 'alert settings');
    const webhookUrl =
      body.webhookUrl === null ? null : await this.checkWebhookUrl(body.webhookUrl);
    const trusted = parseNetworks(body.trustedNetworks ?? []);
    const emails = [...new Set(body.emails.map((e) => e.toLowerCase()))];
    if (emails.length > 0 && this.config.emailCodes === undefined) {
      throw new CausewayError(
        'validation_failed',
        'Alert emails need a mail relay: the operator has not set CAUSEWAY_SMTP_URL.',
      );
    }
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const before = await this.repo.settings(tenant.id);
    let sealed = webhookUrl === null ? null : (before?.sealedWebhookSecret ?? null);
    let secret: string | undefined;
    if (webhookUrl !== null && (sealed === null || body.rotateSecret === true)) {
      const sealKey = this.config.caSealKey;
      if (sealKey === undefined) {
        throw new CausewayError(
          'validation_failed',
          'Alert webhooks need CAUSEWAY_CA_SEAL_KEY to keep their signing secret sealed.',
        );
      }
      secret = newWebhookSecret();
      sealed = await sealSecret(secret, sealKey, SECRET_PURPOSE);
    }
    const row: AlertSettingsRow = {
      webhookUrl,
      sealedWebhookSecret: sealed,
      emails,
      trustedNetworks: trusted.entries,
      volumeMultiplier: body.volumeMultiplier ?? null,
      volumeFloorBytes: body.volumeFloorBytes ?? null,
      signInBurstThreshold: body.signInBurstThreshold ?? null,
    };
    await this.repo.saveSettings(tenant.id, row, this.clock.now());
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.alert_settings.changed',
      outcome: 'success',
      actor,
      details: {
        webhookHost: webhookUrl === null ? null : new URL(webhookUrl).host,
        emails: emails.length,
        trustedNetworks: trusted.entries.join(','),
        secretGenerated: secret !== undefined,
      },
    });
    return { ...view(row), ...(secret === undefined ? {} : { webhookSecret: secret }) };
  }

  /** The settings the rules apply, defaults filled in. */
  async effective(tenantId: string, allowList: string[]): Promise<EffectiveAlertSettings> {
    const s = await this.repo.settings(tenantId);
    const trusted = s?.trustedNetworks ?? [];
    // Both lists were validated when stored.
    const networks = AllowList.parse(trusted.length > 0 ? trusted : allowList);
    return {
      webhookUrl: s?.webhookUrl ?? null,
      emails: s?.emails ?? [],
      networks,
      volume: {
        multiplier: s?.volumeMultiplier ?? DEFAULT_VOLUME_THRESHOLDS.multiplier,
        floorBytes: s?.volumeFloorBytes ?? DEFAULT_VOLUME_THRESHOLDS.floorBytes,
      },
      signInBurstThreshold: s?.signInBurstThreshold ?? DEFAULT_BURST_THRESHOLD,
    };
  }

  /** The webhook's current URL and signing secret, unsealed to sign one delivery. */
  async webhook(tenantId: string): Promise<{ url: string; secret: string } | undefined> {
    const s = await this.repo.settings(tenantId);
    if (!s?.webhookUrl || !s.sealedWebhookSecret) return undefined;
    const sealed = s.sealedWebhookSecret;
    let secret = this.unsealed.get(sealed);
    if (secret === undefined) {
      secret = await unsealSecret(sealed, this.config.caSealKey ?? '', SECRET_PURPOSE);
      // Unsealing is deliberately slow (scrypt); keep a few in memory, keyed by the sealed text.
      if (this.unsealed.size >= 1000) this.unsealed.clear();
      this.unsealed.set(sealed, secret);
    }
    return { url: s.webhookUrl, secret };
  }

  /**
   * Refused here with a clear answer (400, see common/domain-errors.ts) rather than as failed
   * deliveries later.
   */
  private async checkWebhookUrl(text: string): Promise<string> {
    return (await this.webhooks.check(text)).toString();
  }
}

function parseNetworks(entries: string[]): AllowList {
  try {
    return AllowList.parse(entries);
  } catch (error) {
    if (error instanceof AllowListError) {
      throw new CausewayError('validation_failed', `Trusted networks: ${error.message}`);
    }
    throw error;
  }
}

function view(s: AlertSettingsRow | undefined): AlertSettingsView {
  return {
    webhookUrl: s?.webhookUrl ?? null,
    webhookSecretSet: Boolean(s?.webhookUrl && s.sealedWebhookSecret),
    emails: s?.emails ?? [],
    trustedNetworks: s?.trustedNetworks ?? [],
    volumeMultiplier: s?.volumeMultiplier ?? DEFAULT_VOLUME_THRESHOLDS.multiplier,
    volumeFloorBytes: s?.volumeFloorBytes ?? DEFAULT_VOLUME_THRESHOLDS.floorBytes,
    signInBurstThreshold: s?.signInBurstThreshold ?? DEFAULT_BURST_THRESHOLD,
  };
}
