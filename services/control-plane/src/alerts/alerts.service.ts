import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService, type AuditRecord } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { AlertDeliveryService } from './alert-delivery.service';
import { AlertSettingsService, type EffectiveAlertSettings } from './alert-settings.service';
import { AlertsRepository, type AlertPayload } from './alerts.repository';
import { ALERT_EVENT_OF, type AlertCandidate } from './rules/alert-rule';
import { downloadVolumeAlert, windowCanAlert } from './rules/download-volume.rule';
import { outsideNetworksAlert } from './rules/outside-networks.rule';
import { BURST_WINDOW_MS, signInBurstAlerts } from './rules/sign-in-burst.rule';

/** Who raises alerts, as the audit trail names it. */
export const ALERTS_ACTOR = 'system:alerts';

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * Watches recorded audit events and applies the anomaly rules: a download from outside the
 * trusted networks, a user's download volume far above their baseline, a burst of failed
 * sign-ins. An alert (at most one per rule and subject per cool-down) is recorded as an audit
 * event and queued for the tenant's webhook and email addresses.
 */
@Injectable()
export class AlertsService implements OnModuleInit {
  constructor(
    private readonly audit: AuditService,
    private readonly repo: AlertsRepository,
    private readonly settings: AlertSettingsService,
    private readonly deliveries: AlertDeliveryService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  onModuleInit(): void {
    this.audit.onRecorded((event) => this.observe(event));
  }

  /** Applies the rules that concern this event; raises what they find. */
  async observe(event: AuditRecord): Promise<void> {
    const tenantId = event.tenantId;
    if (tenantId === null) return;
    if (event.type !== 'data.file.downloaded' && event.type !== 'auth.sign_in.failed') return;
    const tenant = await this.repo.tenant(tenantId);
    if (!tenant) return;
    const settings = await this.settings.effective(tenantId, tenant.allowList);
    const now = this.clock.now();
    const found =
      event.type === 'data.file.downloaded'
        ? await this.downloadRules(tenantId, event, settings, now)
        : await this.signInRules(tenantId, event, settings, now);
    for (const candidate of found) {
      const claimed = await this.repo.claimCooldown(
        tenantId,
        candidate.rule,
        candidate.subject,
        now,
        this.config.alerts.cooldownMs,
      );
      if (claimed) await this.raise(tenantId, tenant.slug, candidate, event.ip ?? null, settings);
    }
  }

  private async downloadRules(
    tenantId: string,
    event: AuditRecord,
    settings: EffectiveAlertSettings,
    now: Date,
  ): Promise<AlertCandidate[]> {
    const details = event.details ?? {};
    const bytes = typeof details.bytes === 'number' ? details.bytes : 0;
    const found: AlertCandidate[] = [];
    const outside = outsideNetworksAlert(
      {
        actor: event.actor ?? null,
        ip: event.ip ?? null,
        workspaceId: text(details.workspaceId),
        fileId: text(details.fileId),
        bytes,
      },
      settings.networks,
    );
    if (outside) found.push(outside);
    const actor = event.actor;
    if (actor?.startsWith('user:')) {
      const windowBytes = await this.repo.downloadWindowBytes(tenantId, actor, now);
      if (windowCanAlert(windowBytes, settings.volume)) {
        const baselineBytes = await this.repo.downloadBaselineBytes(tenantId, actor, now);
        const heavy = downloadVolumeAlert({ actor, windowBytes, baselineBytes }, settings.volume);
        if (heavy) found.push(heavy);
      }
    }
    return found;
  }

  private async signInRules(
    tenantId: string,
    event: AuditRecord,
    settings: EffectiveAlertSettings,
    now: Date,
  ): Promise<AlertCandidate[]> {
    const actor = event.actor ?? null;
    const ip = event.ip ?? null;
    const since = new Date(now.getTime() - BURST_WINDOW_MS);
    const counts = await this.repo.failedSignIns(tenantId, actor, ip, since);
    return signInBurstAlerts({ actor, ip, ...counts }, settings.signInBurstThreshold);
  }

  private async raise(
    tenantId: string,
    tenantSlug: string,
    candidate: AlertCandidate,
    ip: string | null,
    settings: EffectiveAlertSettings,
  ): Promise<void> {
    const id = randomUUID();
    const type = ALERT_EVENT_OF[candidate.rule];
    const now = this.clock.now();
    await this.audit.record({
      tenantId,
      type,
      outcome: 'success',
      actor: ALERTS_ACTOR,
      ip,
      details: {
        alertId: id,
        rule: candidate.rule,
        subject: candidate.subject,
        ...candidate.details,
      },
    });
    const payload: AlertPayload = {
      id,
      type,
      rule: candidate.rule,
      tenant: tenantSlug,
      subject: candidate.subject,
      occurredAt: now.toISOString(),
      details: candidate.details,
    };
    const targets = [
      ...(settings.webhookUrl === null ? [] : [{ channel: 'webhook' as const, target: null }]),
      ...settings.emails.map((e) => ({ channel: 'email' as const, target: e })),
    ];
    if (targets.length === 0) return;
    await this.repo.enqueue(tenantId, payload, targets, now);
    this.deliveries.kick();
  }
}
