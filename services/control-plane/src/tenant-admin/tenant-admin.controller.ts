import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
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
  deleteTenantSchema,
  tenantListSchema,
  tenantViewSchema,
  updateTenantSettingsSchema,
} from '../tenants/tenants.dto';
import { RequestId } from '../common/request-id';
import { TenantAdminService } from './tenant-admin.service';
import { TenantDeletion } from './tenant-deletion.service';
import { Audited } from '../audited-routes/audited.decorator';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('api/v1/tenants')
export class TenantAdminController {
  constructor(
    private readonly tenants: TenantAdminService,
    private readonly deletion: TenantDeletion,
  ) {}

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
  @Audited('admin.tenant.listed')
  @RequirePermission('tenants.create')
  @ApiOperation({ summary: 'List every tenant (platform operator)' })
  @ApiOkResponse({ schema: schema(tenantListSchema) })
  async list() {
    return { items: await this.tenants.list() };
  }

  @Get(':tenant')
  @Audited('admin.tenant.read')
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

  @Delete(':tenant')
  @HttpCode(202)
  @RequirePermission('tenants.delete')
  @ApiOperation({
    summary: 'Delete a tenant (platform operator): `{ "confirm": "<slug>" }`',
    description:
      "Ends every session at once, then deletes every workspace on its node (keys destroyed first, so the data can no longer be read) and, when none is left, revokes the tenant's nodes. `state` is `deleting` until then, `deleted` after. Cannot be undone.",
  })
  @ApiBody({ schema: schema(deleteTenantSchema) })
  @ApiAcceptedResponse({
    schema: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: ['deleting', 'deleted'] },
        workspacesDeleting: { type: 'integer' },
      },
    },
  })
  remove(
    @Param('tenant') tenant: string,
    @Body() body: unknown,
    @Caller() caller: Principal,
    @RequestId() requestId: string,
  ) {
    return this.deletion.request(tenant, body, { requestId, subject: caller.subject });
  }

  @Get(':tenant/nodes')
  @Audited('admin.node.listed')
  @RequirePermission('nodes.read')
  @ApiOperation({ summary: "List the tenant's nodes with their state" })
  @ApiOkResponse({ schema: schema(nodeListSchema) })
  async nodes(@Param('tenant') tenant: string) {
    return { items: await this.tenants.listNodes(tenant) };
  }
}
