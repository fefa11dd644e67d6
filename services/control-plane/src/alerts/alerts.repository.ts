import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { returnedRows } from '../common/returned-rows';
import type { AlertRule } from './rules/alert-rule';
import { BASELINE_DAYS, VOLUME_WINDOW_MS } from './rules/download-volume.rule';

/** A tenant's stored alert settings (null thresholds mean the defaults). */
export interface AlertSettingsRow {
  webhookUrl: string | null;
  sealedWebhookSecret: string | null;
  emails: string[];
  trustedNetworks: string[];
  volumeMultiplier: number | null;
  volumeFloorBytes: number | null;
  signInBurstThreshold: number | null;
}

/** What a delivery carries: the alert as the webhook body and the email show it. */
export interface AlertPayload {
  id: string;
  type: string;
  rule: AlertRule;
  tenant: string;
  subject: string;
  occurredAt: string;
  details: Record<string, string | number | boolean | null>;
}

export interface DeliveryRow {
  id: string;
  tenantId: string;
  alertId: string;
  channel: 'webhook' | 'email';
  /** The email address; null for the webhook (its URL and secret are read when sending). */
  target: string | null;
  payload: AlertPayload;
  attempts: number;
}

interface RawSettings {
  webhook_url: string | null;
  sealed_webhook_secret: string | null;
  emails: string[];
  trusted_networks: string[];
  volume_multiplier: number | null;
  volume_floor_bytes: string | null;
  sign_in_burst_threshold: number | null;
}

interface Claimed {
  claimed: number;
}

interface RawDelivery {
  id: string;
  tenant_id: string;
  alert_id: string;
  channel: 'webhook' | 'email';
  target: string | null;
  payload: AlertPayload;
  attempts: number;
}

/** Alert settings, cool-downs and the delivery outbox. Tenant data is read by tenant id only. */
@Injectable()
export class AlertsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async settings(tenantId: string): Promise<AlertSettingsRow | undefined> {
    const rows = await this.db.query<RawSettings[]>(
      `SELECT webhook_url, sealed_webhook_secret, emails, trusted_networks, volume_multiplier,
              volume_floor_bytes, sign_in_burst_threshold
       FROM alert_settings WHERE tenant_id = $1`,
      [tenantId],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      webhookUrl: r.webhook_url,
      sealedWebhookSecret: r.sealed_webhook_secret,
      emails: r.emails,
      trustedNetworks: r.trusted_networks,
      volumeMultiplier: r.volume_multiplier,
      volumeFloorBytes: r.volume_floor_bytes === null ? null : Number(r.volume_floor_bytes),
      signInBurstThreshold: r.sign_in_burst_threshold,
    };
  }

  async saveSettings(tenantId: string, s: AlertSettingsRow, now: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO alert_settings (tenant_id, webhook_url, sealed_webhook_secret, emails,
         trusted_networks, volume_multiplier, volume_floor_bytes, sign_in_burst_threshold, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (tenant_id) DO UPDATE SET
         webhook_url = EXCLUDED.webhook_url,
         sealed_webhook_secret = EXCLUDED.sealed_webhook_secret,
         emails = EXCLUDED.emails,
         trusted_networks = EXCLUDED.trusted_networks,
         volume_multiplier = EXCLUDED.volume_multiplier,
         volume_floor_bytes = EXCLUDED.volume_floor_bytes,
         sign_in_burst_threshold = EXCLUDED.sign_in_burst_threshold,
         updated_at = EXCLUDED.updated_at`,
      [
        tenantId,
        s.webhookUrl,
        s.sealedWebhookSecret,
        s.emails,
        s.trustedNetworks,
        s.volumeMultiplier,
        s.volumeFloorBytes,
        s.signInBurstThreshold,
        now,
      ],
    );
  }

  /** The tenant's slug and IP allow-list (canonical CIDRs, validated when stored). */
  async tenant(tenantId: string): Promise<{ slug: string; allowList: string[] } | undefined> {
    const rows = await this.db.query<Array<{ slug: string; allow_list: string[] }>>(
      'SELECT slug, allow_list FROM tenants WHERE id = $1',
      [tenantId],
    );
    return rows[0] ? { slug: rows[0].slug, allowList: rows[0].allow_list } : undefined;
  }

  /** A user's downloaded bytes in the last hour (the volume rule's window). */
  async downloadWindowBytes(tenantId: string, actor: string, now: Date): Promise<number> {
    return this.downloadedBytes(tenantId, actor, new Date(now.getTime() - VOLUME_WINDOW_MS), now);
  }

  /** A user's downloaded bytes in the 14 days before the last hour (the rule's baseline). */
  async downloadBaselineBytes(tenantId: string, actor: string, now: Date): Promise<number> {
    const windowStart = new Date(now.getTime() - VOLUME_WINDOW_MS);
    const baselineStart = new Date(windowStart.getTime() - BASELINE_DAYS * 86_400_000);
    return this.downloadedBytes(tenantId, actor, baselineStart, windowStart);
  }

  /** Bytes in `data.file.downloaded` events with `after < occurred_at <= until`. */
  private async downloadedBytes(
    tenantId: string,
    actor: string,
    after: Date,
    until: Date,
  ): Promise<number> {
    const rows = await this.db.query<Array<{ bytes: string }>>(
      `SELECT COALESCE(SUM(CASE WHEN details->>'bytes' ~ '^[0-9]{1,15}$'
                                THEN (details->>'bytes')::bigint ELSE 0 END), 0) AS bytes
       FROM audit_events
       WHERE tenant_id = $1 AND type = 'data.file.downloaded' AND actor = $2
         AND occurred_at > $3 AND occurred_at <= $4`,
      [tenantId, actor, after, until],
    );
    return Number(rows[0]?.bytes ?? 0);
  }

  /** Failed sign-ins since `since` with this actor, and from this IP. */
  async failedSignIns(
    tenantId: string,
    actor: string | null,
    ip: string | null,
    since: Date,
  ): Promise<{ byActor: number; byIp: number }> {
    const rows = await this.db.query<Array<{ by_actor: string; by_ip: string }>>(
      `SELECT COUNT(*) FILTER (WHERE actor = $2) AS by_actor,
              COUNT(*) FILTER (WHERE ip = $3) AS by_ip
       FROM audit_events
       WHERE tenant_id = $1 AND type = 'auth.sign_in.failed' AND occurred_at > $4`,
      [tenantId, actor, ip, since],
    );
    return { byActor: Number(rows[0]?.by_actor ?? 0), byIp: Number(rows[0]?.by_ip ?? 0) };
  }

  /**
   * Takes the right to alert on this rule and subject: true (and the cool-down restarts) unless
   * an alert fired within `cooldownMs`. Atomic, so concurrent events raise one alert.
   */
  async claimCooldown(
    tenantId: string,
    rule: AlertRule,
    subject: string,
    now: Date,
    cooldownMs: number,
  ): Promise<boolean> {
    const result = await this.db.query<Claimed[] | [Claimed[], number]>(
      `INSERT INTO alert_cooldowns (tenant_id, rule, subject, last_fired_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, rule, subject) DO UPDATE SET last_fired_at = EXCLUDED.last_fired_at
       WHERE alert_cooldowns.last_fired_at <= $5
       RETURNING 1 AS claimed`,
      [tenantId, rule, subject, now, new Date(now.getTime() - cooldownMs)],
    );
    return returnedRows(result).length > 0;
  }

  /** Queues the alert's deliveries, due now. */
  async enqueue(
    tenantId: string,
    payload: AlertPayload,
    targets: Array<{ channel: 'webhook' | 'email'; target: string | null }>,
    now: Date,
  ): Promise<void> {
    for (const t of targets) {
      await this.db.query(
        `INSERT INTO alert_deliveries (id, tenant_id, alert_id, channel, target, payload,
           next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
        [randomUUID(), tenantId, payload.id, t.channel, t.target, JSON.stringify(payload), now],
      );
    }
  }

  /**
   * Claims up to `limit` due deliveries for `leaseMs` (counting the try): another instance, or
   * this one after a crash, retries a claimed one only once its lease is over.
   */
  async claimDue(now: Date, leaseMs: number, limit: number): Promise<DeliveryRow[]> {
    const result = await this.db.query<RawDelivery[] | [RawDelivery[], number]>(
      `UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = $2
       WHERE id IN (
         SELECT id FROM alert_deliveries
         WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING id, tenant_id, alert_id, channel, target, payload, attempts`,
      [now, new Date(now.getTime() + leaseMs), limit],
    );
    return returnedRows(result).map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      alertId: r.alert_id,
      channel: r.channel,
      target: r.target,
      payload: r.payload,
      attempts: r.attempts,
    }));
  }

  async delivered(id: string, now: Date): Promise<void> {
    await this.db.query(
      'UPDATE alert_deliveries SET delivered_at = $2, last_error = NULL WHERE id = $1',
      [id, now],
    );
  }

  async retryLater(id: string, at: Date, error: string): Promise<void> {
    await this.db.query(
      'UPDATE alert_deliveries SET next_attempt_at = $2, last_error = $3 WHERE id = $1',
      [id, at, error],
    );
  }

  async gaveUp(id: string, now: Date, error: string): Promise<void> {
    await this.db.query(
      'UPDATE alert_deliveries SET gave_up_at = $2, last_error = $3 WHERE id = $1',
      [id, now, error],
    );
  }
}
