import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../../access/permission.decorator';
import { TenantAllowListsService } from './tenant-allow-lists.service';

@ApiTags('allow-list')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant/allow-list')
export class AllowListController {
  constructor(private readonly lists: TenantAllowListsService) {}

  @Get()
  @RequirePermission('allow-list.manage')
  @ApiOperation({ summary: "The tenant's IP allow-list (IPv4/IPv6 CIDRs; empty allows all)" })
  get(@Param('tenant') tenant: string) {
    return this.lists.get(tenant);
  }

  @Put()
  @RequirePermission('allow-list.manage')
  @ApiOperation({ summary: "Replace the tenant's IP allow-list; applies within seconds" })
  set(@Param('tenant') tenant: string, @Body() body: unknown) {
    return this.lists.set(tenant, body);
  }
}
