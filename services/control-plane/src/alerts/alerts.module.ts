import { Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module';
import { AlertDeliveryService } from './alert-delivery.service';
import { AlertSettingsService } from './alert-settings.service';
import { AlertsController } from './alerts.controller';
import { AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';

/** Anomaly rules over the audit trail, and delivery of their alerts (webhook, email). */
@Module({
  imports: [TenantsModule],
  controllers: [AlertsController],
  providers: [AlertsRepository, AlertSettingsService, AlertDeliveryService, AlertsService],
})
export class AlertsModule {}
