import { Controller, Get, Ip, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditVerifyReport } from '@causeway/audit';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { TenantsService } from '../tenants/tenants.service';
import { AuditTrailService } from './audit-trail.service';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Controller('api/v1/tenants/:tenant/audit-events')
export class AuditVerifyController {
  constructor(
    private readonly trail: AuditTrailService,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  @Get('verify')
  @ApiBearerAuth()
  @RequirePermission('audit.read')
  @ApiOperation({
    summary:
      "Verifies the tenant's audit chain, live and archived: every edited, removed, re-ordered or truncated entry, bad signature or missing segment, with its position",
  })
  async verify(
    @Param('tenant') tenant: string,
    @Caller() caller: Principal,
    @Ip() ip: string | undefined,
  ): Promise<AuditVerifyReport> {
    const { id, slug } = await this.tenants.getBySlug(tenant);
    const report = await this.trail.verify(id);
    // Recorded after the check, so the check covers the chain as it was asked about.
    await this.audit.record({
      tenantId: id,
      type: 'audit.log.verified',
      outcome: report.ok ? 'success' : 'failure',
      actor: caller.subject,
      ip: ip ?? null,
      details: {
        tenant: slug,
        ok: report.ok,
        entries: report.entries,
        segments: report.segments,
        problems: report.problems.length,
      },
    });
    return report;
  }
}
