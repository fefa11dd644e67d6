import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { nodeListSchema } from '../nodes/nodes.dto';
import {
  createTenantWithOwnerSchema,
  createdTenantSchema,
  tenantListSchema,
  tenantViewSchema,
  updateTenantSettingsSchema,
} from '../tenants/tenants.dto';
import { TenantAdminService } from './tenant-admin.service';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('api/v1/tenants')
export class TenantAdminController {
  constructor(private readonly tenants: TenantAdminService) {}

  @Post()
  @HttpCode(201)
  @RequirePermission('tenants.create')
  @ApiOperation({ summary: 'Create a tenant, optionally with its first owner' })
  @ApiBody({ schema: schema(createTenantWithOwnerSchema) })
  @ApiCreatedResponse({ schema: schema(createdTenantSchema) })
  create(@Body() body: unknown, @Caller() caller: Principal) {
    return this.tenants.create(body, caller.subject);
  }

  @Get()
  @RequirePermission('tenants.create')
  @ApiOperation({ summary: 'List every tenant (platform operator)' })
  @ApiOkResponse({ schema: schema(tenantListSchema) })
  async list() {
    return { items: await this.tenants.list() };
  }

  @Get(':tenant')
  @RequirePermission('tenant.read')
  @ApiOperation({ summary: "Read the tenant's settings" })
  @ApiOkResponse({ schema: schema(tenantViewSchema) })
  get(@Param('tenant') tenant: string) {
    return this.tenants.get(tenant);
  }

  @Patch(':tenant')
  @RequirePermission('tenant.settings.manage')
  @ApiOperation({
    summary: "Change the tenant's settings",
    description:
      'A new region is refused (409 residency_violation) while the tenant has a node, workspace or unused join token in another region.',
  })
  @ApiBody({ schema: schema(updateTenantSettingsSchema) })
  @ApiOkResponse({ schema: schema(tenantViewSchema) })
  update(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.tenants.update(tenant, body, caller.subject);
  }

  @Get(':tenant/nodes')
  @RequirePermission('nodes.read')
  @ApiOperation({ summary: "List the tenant's nodes with their state" })
  @ApiOkResponse({ schema: schema(nodeListSchema) })
  async nodes(@Param('tenant') tenant: string) {
    return { items: await this.tenants.listNodes(tenant) };
  }
}
