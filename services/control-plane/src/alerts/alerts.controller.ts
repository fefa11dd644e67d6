import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { Audited } from '../audited-routes/audited.decorator';
import { AlertSettingsService } from './alert-settings.service';

@ApiTags('alerts')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant/alert-settings')
export class AlertsController {
  constructor(private readonly settings: AlertSettingsService) {}

  @Get()
  @RequirePermission('alerts.manage')
  @Audited('config.alert_settings.read')
  @ApiOperation({ summary: "The tenant's anomaly alert settings (the secret is never shown)" })
  get(@Param('tenant') tenant: string) {
    return this.settings.get(tenant);
  }

  @Put()
  @RequirePermission('alerts.manage')
  @ApiOperation({
    summary:
      'Replace the alert settings; a new webhook signing secret is shown in this answer only',
  })
  set(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.settings.set(tenant, body, caller.subject);
  }
}
