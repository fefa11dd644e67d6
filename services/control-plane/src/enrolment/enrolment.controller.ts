import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Public, RequirePermission } from '../access/permission.decorator';
import { parseInput } from '../common/validation';
import { CertificateRenewal } from './certificate-renewal';
import { EnrolmentService } from './enrolment.service';
import { Audited } from '../audited-routes/audited.decorator';

const tokenId = z.uuid({ error: 'a join token id is a UUID' });
const nodeId = z.uuid({ error: 'a node id is a UUID' });

@ApiTags('enrolment')
@Controller()
export class EnrolmentController {
  constructor(
    private readonly enrolment: EnrolmentService,
    private readonly renewal: CertificateRenewal,
  ) {}

  @Post('api/v1/tenants/:tenant/join-tokens')
  @Audited('admin.join_token.created')
  @ApiBearerAuth()
  @RequirePermission('join-tokens.manage')
  @ApiOperation({ summary: 'Create a one-time, expiring join token (shown once) to enrol a node' })
  create(@Param('tenant') tenant: string, @Body() body: unknown) {
    return this.enrolment.createToken(tenant, body);
  }

  @Get('api/v1/tenants/:tenant/join-tokens')
  @Audited('admin.join_token.listed')
  @ApiBearerAuth()
  @RequirePermission('join-tokens.manage')
  @ApiOperation({ summary: 'List join tokens and their state (never the tokens themselves)' })
  async list(@Param('tenant') tenant: string) {
    return { items: await this.enrolment.listTokens(tenant) };
  }

  @Delete('api/v1/tenants/:tenant/join-tokens/:id')
  @Audited('admin.join_token.revoked')
  @ApiBearerAuth()
  @RequirePermission('join-tokens.manage')
  @ApiOperation({ summary: 'Revoke a join token' })
  revoke(@Param('tenant') tenant: string, @Param('id') id: string) {
    return this.enrolment.revokeToken(tenant, parseInput(tokenId, id, 'join token id'));
  }

  /** Public: the join token in the body is the credential. */
  @Post('api/v1/enroll')
  @HttpCode(201)
  @Public()
  @ApiOperation({
    summary: 'Enrol a node: join token + CSR in, node certificate, CA chain and broker URL out',
  })
  enrol(@Body() body: unknown) {
    return this.enrolment.enrol(body);
  }

  /** Public: a signature by the node's current certificate key is the credential. */
  @Post('api/v1/nodes/:node/certificate')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    summary:
      'Renew a node certificate and signing key, proven by the current certificate key (called by the node)',
  })
  renew(@Param('node') node: string, @Body() body: unknown) {
    return this.renewal.renew(parseInput(nodeId, node, 'node id'), body);
  }
}
