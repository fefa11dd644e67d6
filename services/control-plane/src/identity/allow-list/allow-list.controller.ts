import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, RequirePermission } from '../../access/permission.decorator';
import type { Principal } from '../../access/principal';
import { TenantAllowListsService } from './tenant-allow-lists.service';
import { Audited } from '../../audited-routes/audited.decorator';

@ApiTags('allow-list')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant/allow-list')
export class AllowListController {
  constructor(private readonly lists: TenantAllowListsService) {}

  @Get()
  @Audited('config.allow_list.read')
  @RequirePermission('allow-list.manage')
  @ApiOperation({ summary: "The tenant's IP allow-list (IPv4/IPv6 CIDRs; empty allows all)" })
  get(@Param('tenant') tenant: string) {
    return this.lists.get(tenant);
  }

  @Put()
  @RequirePermission('allow-list.manage')
  @ApiOperation({ summary: "Replace the tenant's IP allow-list; applies within seconds" })
  set(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.lists.set(tenant, body, caller.subject);
  }
}
