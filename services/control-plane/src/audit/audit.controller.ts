import type { Response } from 'express';
import { Controller, Get, Ip, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PinoLogger } from 'nestjs-pino';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { sendExport } from './audit-export';
import { AuditQueryService } from './audit-query.service';
import { readerOf } from './pseudonyms';

@ApiTags('audit')
@Controller('api/v1/tenants/:tenant/audit-events')
export class AuditController {
  constructor(
    private readonly audit: AuditQueryService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('AuditController');
  }

  @Get()
  @ApiBearerAuth()
  @RequirePermission('audit.read')
  @ApiOperation({
    summary:
      "The tenant's audit events, oldest first (filters: type, category, outcome, actor, from, to, workspace, ip, after, limit); people pseudonymised without audit.identities.read",
  })
  list(
    @Param('tenant') tenant: string,
    @Query() query: unknown,
    @Caller() caller: Principal,
    @Ip() ip: string | undefined,
  ) {
    return this.audit.list(tenant, query, readerOf(caller), {
      actor: caller.subject,
      ip: ip ?? null,
    });
  }

  @Get('export')
  @ApiBearerAuth()
  @RequirePermission('audit.read')
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOperation({
    summary:
      'Every matching audit event as a streamed CSV or JSONL download (format=csv|jsonl, same filters as the list)',
  })
  async export(
    @Param('tenant') tenant: string,
    @Query() query: unknown,
    @Caller() caller: Principal,
    @Ip() ip: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const file = await this.audit.export(tenant, query, readerOf(caller), {
      actor: caller.subject,
      ip: ip ?? null,
    });
    sendExport(file, res, (error) =>
      this.logger.warn({ tenant, err: error }, 'audit export stopped before its end'),
    );
  }
}
