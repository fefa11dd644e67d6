import { Module } from '@nestjs/common';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { TenantsModule } from '../tenants/tenants.module';
import { AlertDeliveryService } from './alert-delivery.service';
import { AlertSettingsService } from './alert-settings.service';
import { AlertsController } from './alerts.controller';
import { AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';
import { WebhookClient } from './webhook-client';

/** Anomaly rules over the audit trail, and delivery of their alerts (webhook, email). */
@Module({
  imports: [TenantsModule],
  controllers: [AlertsController],
  providers: [
    AlertsRepository,
    AlertSettingsService,
    AlertDeliveryService,
    AlertsService,
    {
      provide: WebhookClient,
      useFactory: (config: ControlPlaneConfig) =>
        new WebhookClient({
          allowPrivate: config.alerts.webhookAllowPrivate,
          timeoutMs: config.alerts.webhookTimeoutMs,
        }),
      inject: [CONFIG],
    },
  ],
})
export class AlertsModule {}
