import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { AlertMailer } from './alert-mailer';
import { WebhookTargetError } from './alerts.errors';
import { AlertSettingsService } from './alert-settings.service';
import { AlertsRepository, type DeliveryRow } from './alerts.repository';
import { WebhookClient } from './webhook-client';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

/** A claimed delivery is retried by another look only after this long (a crash mid-send). */
const LEASE_MS = 60_000;
const BATCH = 20;
const MAX_BACKOFF_MS = 3_600_000;

/** The wait before try `attempts + 1`: base × 2^(attempts-1), capped, with jitter (50-100 %). */
export function retryDelayMs(attempts: number, baseMs: number, random = Math.random): number {
  const full = Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
  return Math.round(full * (0.5 + random() / 2));
}

/**
 * Sends queued alerts from the `alert_deliveries` outbox: to the tenant's webhook (signed) and
 * email addresses. Durable: a delivery leaves the outbox only once sent, failures are retried
 * with backoff, and after the last try the failure is itself recorded (`alert.delivery.failed`).
 */
@Injectable()
export class AlertDeliveryService implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly mailer: AlertMailer | undefined;

  constructor(
    private readonly repo: AlertsRepository,
    private readonly settings: AlertSettingsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly webhooks: WebhookClient,
  ) {
    logger.setContext('AlertDeliveryService');
    if (config.emailCodes) this.mailer = new AlertMailer(config.emailCodes.smtp);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.kick(), this.config.alerts.deliveryIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.mailer?.close();
  }

  /** Looks at the outbox now (new alerts go out without waiting for the next interval). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.logger.error({ err: error }, 'alert delivery pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const due = await this.repo.claimDue(this.clock.now(), LEASE_MS, BATCH);
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.deliver(d)));
    }
  }

  private async deliver(d: DeliveryRow): Promise<void> {
    try {
      if (d.channel === 'webhook') await this.sendWebhook(d);
      else await this.sendEmail(d);
      await this.repo.delivered(d.id, this.clock.now());
      this.logger.info({ alertId: d.alertId, channel: d.channel }, 'alert delivered');
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unknown error';
      if (d.attempts >= this.config.alerts.maxAttempts) {
        await this.repo.gaveUp(d.id, this.clock.now(), reason);
        this.logger.warn({ alertId: d.alertId, channel: d.channel, reason }, 'alert not delivered');
        await this.audit.record({
          tenantId: d.tenantId,
          type: 'alert.delivery.failed',
          outcome: 'failure',
          actor: 'system:alerts',
          reason: 'delivery_failed',
          details: { alertId: d.alertId, channel: d.channel, attempts: d.attempts, error: reason },
        });
        return;
      }
      const wait = retryDelayMs(d.attempts, this.config.alerts.retryBaseMs);
      await this.repo.retryLater(d.id, new Date(this.clock.now().getTime() + wait), reason);
      this.logger.info(
        { alertId: d.alertId, channel: d.channel, attempts: d.attempts, reason },
        'alert delivery will be retried',
      );
    }
  }

  /**
   * POSTs the alert as JSON, signed; any answer but 2xx (a redirect too) is a failure. The
   * target is checked again here (DNS, or the operator's setting, may have changed since it was
   * saved): a refused one fails like an unreachable one, and no request is sent.
   */
  private async sendWebhook(d: DeliveryRow): Promise<void> {
    const hook = await this.settings.webhook(d.tenantId);
    if (!hook) throw new Error('no webhook is configured any more');
    const body = JSON.stringify(d.payload);
    let status: number;
    try {
      status = await this.webhooks.post(
        hook.url,
        {
          'Content-Type': 'application/json',
          'User-Agent': 'Causeway-Alerts/1',
          'Causeway-Alert-Id': d.alertId,
          [SIGNATURE_HEADER]: signWebhook(hook.secret, body, this.clock.now()),
        },
        body,
      );
    } catch (error) {
      // Its message names the host and the refused address, never the URL.
      if (error instanceof WebhookTargetError) throw new Error(`webhook refused: ${error.message}`);
      // The kind of failure only: the URL may carry a token in its query.
      const name = error instanceof Error ? error.name : 'error';
      throw new Error(`webhook unreachable (${name})`);
    }
    if (status < 200 || status > 299) throw new Error(`webhook answered ${status}`);
  }

  private async sendEmail(d: DeliveryRow): Promise<void> {
    if (!this.mailer) throw new Error('no mail relay is configured');
    if (d.target === null) throw new Error('no address');
    await this.mailer.send(d.target, d.payload);
  }
}
