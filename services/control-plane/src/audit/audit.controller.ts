import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../access/permission.decorator';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Controller('api/v1/tenants/:tenant/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiBearerAuth()
  @RequirePermission('audit.read')
  @ApiOperation({
    summary: "The tenant's audit events, oldest first (filters: type, outcome, actor, after)",
  })
  list(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.audit.list(tenant, query);
  }
}
