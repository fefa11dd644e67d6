import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditVerifyReport } from '@causeway/audit';
import { RequirePermission } from '../access/permission.decorator';
import { TenantsService } from '../tenants/tenants.service';
import { AuditTrailService } from './audit-trail.service';

@ApiTags('audit')
@Controller('api/v1/tenants/:tenant/audit-events')
export class AuditVerifyController {
  constructor(
    private readonly trail: AuditTrailService,
    private readonly tenants: TenantsService,
  ) {}

  @Get('verify')
  @ApiBearerAuth()
  @RequirePermission('audit.read')
  @ApiOperation({
    summary:
      "Verifies the tenant's audit chain, live and archived: every edited, removed, re-ordered or truncated entry, bad signature or missing segment, with its position",
  })
  async verify(@Param('tenant') tenant: string): Promise<AuditVerifyReport> {
    const { id } = await this.tenants.getBySlug(tenant);
    return this.trail.verify(id);
  }
}
